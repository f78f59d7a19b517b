//! The facts a body sees, and how a handler changes them in place yet can be
//! undone: [`Facts::Logged`] keeps, for each change, what undoes it ([`FactLog`]).
//! A fact replaced whole moves its old value to the log; a map put, a list append
//! or a compound assignment through one key logs only the entry it changes; any
//! other change through a path keeps a copy of the fact, once.

use crate::value::{self, Value};

/// Facts are read-only in `match`, `action`, `complete when` and `output`.
pub enum Facts<'a> {
    Read(&'a [Value]),
    Write(&'a mut [Value]),
    /// Written in place; what undoes each change is kept in the log, so that a
    /// handler that fails leaves the facts as they were ([`FactLog::undo`]).
    Logged(&'a mut [Value], &'a mut FactLog),
}

/// What undoes a handler's changes to facts, newest last.
#[derive(Debug, Default)]
pub struct FactLog {
    entries: Vec<Undo>,
}

#[derive(Debug)]
enum Undo {
    /// The fact's whole value before it changed.
    Whole(u32, Value),
    /// A map fact's entry for a key before a put: its value, or `None` when the
    /// put added the key (at the end).
    Put(u32, Value, Option<Value>),
    /// A list fact's length before an append.
    Append(u32, usize),
}

impl FactLog {
    /// Whether fact `i`'s whole value is kept already (later changes to it need no
    /// log: undoing puts that value back).
    fn has_whole(&self, i: u32) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, Undo::Whole(j, _) if *j == i))
    }

    /// Undoes every change, newest first: the facts as they were before the
    /// handler.
    pub fn undo(self, facts: &mut [Value]) {
        for entry in self.entries.into_iter().rev() {
            match entry {
                Undo::Whole(i, old) => {
                    if let Some(slot) = facts.get_mut(i as usize) {
                        *slot = old;
                    }
                }
                Undo::Put(i, key, old) => {
                    if let Some(Value::Map(entries)) = facts.get_mut(i as usize) {
                        let at = entries.iter().position(|(k, _)| value::equal(k, &key));
                        match (at, old) {
                            (Some(at), Some(old)) => {
                                if let Some(entry) = entries.get_mut(at) {
                                    entry.1 = old;
                                }
                            }
                            (Some(at), None) => {
                                entries.remove(at);
                            }
                            (None, _) => {}
                        }
                    }
                }
                Undo::Append(i, len) => {
                    if let Some(Value::List(items)) = facts.get_mut(i as usize) {
                        items.truncate(len);
                    }
                }
            }
        }
    }
}

impl Facts<'_> {
    pub(super) fn get(&self, index: u32) -> Option<&Value> {
        match self {
            Facts::Read(f) => f.get(index as usize),
            Facts::Write(f) => f.get(index as usize),
            Facts::Logged(f, _) => f.get(index as usize),
        }
    }

    /// A fact to change in place through a path; under [`Facts::Logged`] its
    /// value is copied to the log first (once).
    pub(super) fn get_mut(&mut self, index: u32) -> Option<&mut Value> {
        match self {
            Facts::Read(_) => None,
            Facts::Write(f) => f.get_mut(index as usize),
            Facts::Logged(f, log) => {
                let v = f.get_mut(index as usize)?;
                if !log.has_whole(index) {
                    log.entries.push(Undo::Whole(index, v.clone()));
                }
                Some(v)
            }
        }
    }

    /// Replaces a fact's whole value; `None` when facts are read-only here.
    pub(super) fn replace(&mut self, index: u32, new: Value) -> Option<()> {
        match self {
            Facts::Read(_) => None,
            Facts::Write(f) => {
                *f.get_mut(index as usize)? = new;
                Some(())
            }
            Facts::Logged(f, log) => {
                let slot = f.get_mut(index as usize)?;
                let old = std::mem::replace(slot, new);
                if !log.has_whole(index) {
                    log.entries.push(Undo::Whole(index, old));
                }
                Some(())
            }
        }
    }

    /// The entry for `key` of a map fact, to change in place (added, null, when
    /// absent and `add`); under [`Facts::Logged`] only that entry's old value is
    /// logged. `None` when the fact is not a map that can be changed here, or the
    /// key is absent and not to be added: the caller takes the general path, which
    /// reports the error.
    pub(super) fn entry(&mut self, index: u32, key: Value, add: bool) -> Option<&mut Value> {
        let (facts, log) = match self {
            Facts::Read(_) => return None,
            Facts::Write(f) => (f, None),
            Facts::Logged(f, log) => (f, Some(log)),
        };
        let Some(Value::Map(entries)) = facts.get_mut(index as usize) else {
            return None;
        };
        let at = entries.iter().position(|(k, _)| value::equal(k, &key));
        if at.is_none() && !add {
            return None;
        }
        if let Some(log) = log
            && !log.has_whole(index)
        {
            let old = at.and_then(|at| entries.get(at)).map(|(_, v)| v.clone());
            log.entries.push(Undo::Put(index, key.clone(), old));
        }
        let at = match at {
            Some(at) => at,
            None => {
                entries.push((key, Value::Null));
                entries.len() - 1
            }
        };
        entries.get_mut(at).map(|(_, v)| v)
    }

    /// Appends to a list fact in place, logging only its old length; gives the
    /// value back when the fact is not a list that can be changed here.
    pub(super) fn append(&mut self, index: u32, item: Value) -> Result<(), Value> {
        let (facts, log) = match self {
            Facts::Read(_) => return Err(item),
            Facts::Write(f) => (f, None),
            Facts::Logged(f, log) => (f, Some(log)),
        };
        let Some(Value::List(items)) = facts.get_mut(index as usize) else {
            return Err(item);
        };
        if let Some(log) = log
            && !log.has_whole(index)
        {
            log.entries.push(Undo::Append(index, items.len()));
        }
        items.push(item);
        Ok(())
    }
}
