//! A function process's tree: the process the executor started and every process
//! descended from it, including those that left its process group (`setsid`, a
//! double fork) and those orphaned by the death of their parent. A tree is ended
//! whole when its call (or warm worker) ends: none of its processes may outlive it,
//! run outside its pool's limit, or hold its stdout open.
//!
//! How the members are found, from `/proc` (no cgroups needed):
//!
//! - the executor's process becomes a *child subreaper*
//!   (`prctl(PR_SET_CHILD_SUBREAPER)`), so an orphaned descendant is re-parented to
//!   it rather than to init, and can be reaped by it;
//! - every process the executor starts gets `COSMOS_PROCESS_TREE=<tag>` in its
//!   environment, which its descendants inherit;
//! - the members are the process itself, its process group, every process whose
//!   parent chain leads to a member, and every orphan (a child of ours or of init,
//!   or a session leader) whose environment carries the tag.
//!
//! The root's process group is killed at once; the other members are killed with
//! SIGKILL by one background thread (the *ender*: a scan of `/proc` costs
//! milliseconds, and serves every tree ended meanwhile), the scan repeated until
//! none is left alive, and those that become our zombies are reaped. Only members
//! are ever reaped: a child some other part of the process started is left to it.
//!
//! What escapes: a process that both cleared its environment and was orphaned
//! before its call ended (and a zombie of such an orphan that exited during the
//! call is left unreaped).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

use super::output::kill_group;

/// The environment variable that marks a tree's processes.
pub(crate) const TREE_VAR: &str = "COSMOS_PROCESS_TREE";

/// How many times the members are looked for and killed before giving up on
/// processes that keep forking.
const ROUNDS: usize = 8;

/// How long killed members are waited for, to be reaped.
const REAP_FOR: Duration = Duration::from_secs(2);

static NEXT_TREE: AtomicU64 = AtomicU64::new(1);

/// Makes this process a child subreaper, once; a failure (an old kernel) is logged
/// and leaves orphans to init, where they are still found by their tag.
pub(crate) fn adopt_orphans() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if let Err(error) = nix::sys::prctl::set_child_subreaper(true) {
            tracing::warn!(%error, "cannot become a child subreaper; orphaned function \
                processes are found by their environment only");
        }
    });
}

/// One function process's tree.
#[derive(Debug)]
pub(crate) struct Tree {
    /// The process the executor started (its process group's id too).
    root: Option<u32>,
    /// The root's start time: once the root is reaped its pid may name another
    /// process, which must not be taken for it.
    root_start: Option<u64>,
    tag: String,
    ended: bool,
}

impl Tree {
    /// A fresh tag, for [`TREE_VAR`] in a new process's environment.
    pub(crate) fn new_tag() -> String {
        format!(
            "{}-{}",
            std::process::id(),
            NEXT_TREE.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The tree of the process `root`, started with `tag`.
    pub(crate) fn new(root: Option<u32>, tag: String) -> Tree {
        Tree {
            root,
            root_start: root.and_then(Proc::read).map(|p| p.start),
            tag,
            ended: false,
        }
    }

    /// Kills the root's process group now, and hands the rest to the ender: a
    /// thread that kills every other member (never the root's own process: its
    /// owner reaps it) and reaps those that become our zombies. Cheap: scanning
    /// `/proc` costs milliseconds, which neither the call's result nor an async
    /// worker waits for.
    pub(crate) fn end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        // The group's id is the root's pid: while a process of the group lives the
        // pid stays reserved, so it names our group unless another process has it.
        let reused = self
            .root
            .and_then(Proc::read)
            .is_some_and(|p| Some(p.start) != self.root_start);
        if !reused {
            kill_group(self.root);
        }
        let ending = Ending {
            root: self.root,
            root_start: self.root_start,
            tag: std::mem::take(&mut self.tag),
        };
        match ender() {
            Some(sender) => {
                if let Err(mpsc::SendError(ending)) = sender.send(ending) {
                    Ender::default().run(vec![ending]);
                }
            }
            None => Ender::default().run(vec![ending]),
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        self.end();
    }
}

/// A tree to end, as the ender gets it.
#[derive(Debug)]
struct Ending {
    root: Option<u32>,
    root_start: Option<u64>,
    tag: String,
}

/// The channel to the ender thread, started on first use; `None` when no thread
/// could be started (then trees are ended on the caller's thread).
fn ender() -> Option<&'static mpsc::Sender<Ending>> {
    static ENDER: OnceLock<Option<mpsc::Sender<Ending>>> = OnceLock::new();
    ENDER
        .get_or_init(|| {
            let (sender, receiver) = mpsc::channel::<Ending>();
            let spawned = std::thread::Builder::new()
                .name("cosmos-process-trees".into())
                .spawn(move || Ender::default().serve(&receiver));
            match spawned {
                Ok(_) => Some(sender),
                Err(error) => {
                    tracing::warn!(%error, "cannot start the thread that ends process trees");
                    None
                }
            }
        })
        .as_ref()
}

/// Ends trees: kills their members, then reaps the killed processes that become
/// our zombies.
#[derive(Default)]
struct Ender {
    /// Killed processes not gone yet: pid → (start time, when to give up on it).
    killed: HashMap<u32, (u64, Instant)>,
}

impl Ender {
    /// Ends the trees sent on `receiver`, several at once (one `/proc` scan serves
    /// them all), reaping between them.
    fn serve(mut self, receiver: &mpsc::Receiver<Ending>) {
        loop {
            let first = if self.killed.is_empty() {
                match receiver.recv() {
                    Ok(ending) => Some(ending),
                    Err(_) => return,
                }
            } else {
                match receiver.recv_timeout(Duration::from_millis(10)) {
                    Ok(ending) => Some(ending),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            };
            let mut endings: Vec<Ending> = first.into_iter().collect();
            endings.extend(receiver.try_iter());
            if !endings.is_empty() {
                self.kill(endings);
            }
            self.reap();
        }
    }

    /// Ends `endings` on this thread, and waits (up to [`REAP_FOR`]) to reap.
    fn run(mut self, endings: Vec<Ending>) {
        self.kill(endings);
        while !self.killed.is_empty() {
            self.reap();
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Looks for the members of `endings` and kills them, until none is left
    /// alive (or after [`ROUNDS`] scans).
    fn kill(&mut self, mut endings: Vec<Ending>) {
        let me = std::process::id();
        for _ in 0..ROUNDS {
            let table = Table::read();
            endings.retain(|e| {
                let (members, unsure) = table.members(e.root, e.root_start, &e.tag, me);
                let give_up = Instant::now() + REAP_FOR;
                let mut alive = false;
                for p in &members {
                    if Some(p.pid) == e.root {
                        continue;
                    }
                    self.killed.entry(p.pid).or_insert((p.start, give_up));
                    if !p.zombie() {
                        alive = true;
                        if let Ok(pid) = i32::try_from(p.pid) {
                            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                        }
                    }
                }
                // Look again while members were alive (they may have forked), or a
                // process between two programs showed no environment.
                alive || unsure
            });
            if endings.is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Reaps the killed processes that are our zombies now, and forgets those
    /// gone (or past their time). A pid is only ever waited for while it still
    /// names the process that was killed (same start time).
    fn reap(&mut self) {
        let me = std::process::id();
        let now = Instant::now();
        self.killed
            .retain(|&pid, &mut (start, give_up)| match Proc::read(pid) {
                Some(p) if p.start == start && now < give_up => {
                    if p.ppid == me
                        && p.zombie()
                        && let Ok(raw) = i32::try_from(pid)
                    {
                        let _ = waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG));
                    }
                    true
                }
                _ => false,
            });
    }
}

/// One process, from `/proc/PID/stat`.
#[derive(Debug, Clone)]
struct Proc {
    pid: u32,
    state: u8,
    ppid: u32,
    pgrp: u32,
    session: u32,
    /// Start time since boot, in clock ticks: with the pid, names the process.
    start: u64,
}

impl Proc {
    fn read(pid: u32) -> Option<Proc> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Proc::parse(pid, &stat)
    }

    /// `PID (COMM) STATE PPID PGRP SESSION … STARTTIME …`; COMM may hold anything,
    /// so the fields are counted from its closing parenthesis.
    fn parse(pid: u32, stat: &str) -> Option<Proc> {
        let (_, rest) = stat.rsplit_once(") ")?;
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        Some(Proc {
            pid,
            state: *fields.first()?.as_bytes().first()?,
            ppid: fields.get(1)?.parse().ok()?,
            pgrp: fields.get(2)?.parse().ok()?,
            session: fields.get(3)?.parse().ok()?,
            // Field 22 of the line; the 20th after the state.
            start: fields.get(19)?.parse().ok()?,
        })
    }

    fn zombie(&self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }

    /// Whether its environment has `TREE_VAR=tag`; `None` when it cannot be told
    /// now (unreadable or empty, as while the process is in `execve`).
    fn tagged(&self, tag: &str) -> Option<bool> {
        let environ = std::fs::read(format!("/proc/{}/environ", self.pid)).ok()?;
        if environ.is_empty() {
            return None;
        }
        let wanted = format!("{TREE_VAR}={tag}");
        Some(environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()))
    }
}

/// Every process on the machine, as `/proc` shows them now.
struct Table {
    procs: Vec<Proc>,
}

impl Table {
    fn read() -> Table {
        let procs = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(Proc::read)
            .collect();
        Table { procs }
    }

    /// The tree's members (see the module documentation), never `me`; and whether
    /// some process's environment could not be read (look again).
    fn members(
        &self,
        root: Option<u32>,
        root_start: Option<u64>,
        tag: &str,
        me: u32,
    ) -> (Vec<Proc>, bool) {
        // A pid stays reserved while a process group of that id has members: if the
        // root's pid names another process now, the root's group is empty.
        let reused = self
            .procs
            .iter()
            .any(|p| Some(p.pid) == root && Some(p.start) != root_start);
        let root = root.filter(|_| !reused);
        let mut ids: HashSet<u32> = HashSet::new();
        let mut unsure = false;
        for p in &self.procs {
            let seed = Some(p.pid) == root
                || (root.is_some() && Some(p.pgrp) == root)
                || ((p.ppid == me || p.ppid == 1 || p.session == p.pid)
                    && !p.zombie()
                    && p.tagged(tag).unwrap_or_else(|| {
                        unsure = true;
                        false
                    }));
            if seed && p.pid != me {
                ids.insert(p.pid);
            }
        }
        // Then everything below a member.
        let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
        for p in &self.procs {
            children.entry(p.ppid).or_default().push(p.pid);
        }
        let mut stack: Vec<u32> = ids.iter().copied().collect();
        while let Some(pid) = stack.pop() {
            for &child in children.get(&pid).into_iter().flatten() {
                if child != me && ids.insert(child) {
                    stack.push(child);
                }
            }
        }
        let members = self
            .procs
            .iter()
            .filter(|p| ids.contains(&p.pid))
            .cloned()
            .collect();
        (members, unsure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_read_past_odd_command_names() {
        let line = "4242 (a) b (c) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 10 18446744073709551615";
        let p = Proc::parse(4242, line).unwrap_or_else(|| panic!("unparsed"));
        assert_eq!((p.state, p.ppid, p.pgrp, p.session), (b'S', 17, 4242, 4242));
        assert_eq!(p.start, 987654);
        assert!(!p.zombie());
        assert!(Proc::parse(1, "1 (x) Z").is_none());
    }
}
