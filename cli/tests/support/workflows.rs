//! Workflows the runtime's CLI tests (serve and cluster) run.

/// `Chain`: five steps, each calling `work` (a shell script the test writes to
/// `functions/work.sh`) on `seed + step` and adding its result up; a `bump` signal
/// adds to the total. `timeout` is the function's (for example `"20.s"`).
pub fn chain(timeout: &str) -> String {
    format!(
        r#"
/** Doubles n, slowly. */
function work(n: Int): Int {{
    command ["sh", "functions/work.sh"]
    timeout {timeout}
}}

workflow Chain {{
    input {{ seed: Int }}
    facts {{
        step: Int = 0
        total: Int = 0
        seen: List<Int> = []
    }}

    rule "work" {{
        match {{ step < 5 }}
        action {{ work(n: seed + step) }}
        reaction {{
            total += result
            seen << result
            step += 1
        }}
    }}

    signal bump(by: Int) {{
        total += by
    }}

    complete when {{ step == 5 }}
    output {{ [total: total, steps: step] }}
}}
"#
    )
}

/// The results an uncrashed run of `Chain` sees for `seed`, with a `work` that doubles.
pub fn chain_seen(seed: i64) -> Vec<i64> {
    (0..5).map(|step| 2 * (seed + step)).collect()
}

/// The total an uncrashed run of `Chain` outputs for `seed`.
pub fn chain_total(seed: i64) -> i64 {
    chain_seen(seed).iter().sum()
}

/// `Gate`, version 1: waits for an `approve` signal and records who, as `v1:…`.
pub const GATE_V1: &str = r#"
workflow Gate {
    facts { by: String? }
    signal approve(who: String) { by = "v1:${who}" }
    complete when { by != null }
    output { [by: by] }
}
"#;

/// `Gate`, version 2: the same, recording `v2:…`.
pub const GATE_V2: &str = r#"
workflow Gate {
    facts { by: String? }
    signal approve(who: String) { by = "v2:${who}" }
    complete when { by != null }
    output { [by: by] }
}
"#;

/// The workflow `Kinds` (every kind of Emx type in its input and signals) and
/// `Other` (a signal of the same name with other parameters).
pub const KINDS: &str = r#"
enum Tier { Bronze, Gold }

type Address { city: String, zip: String? }

type Person {
    name: String
    age: Int = 30
    tier: Tier
    address: Address?
    tags: List<String> = []
}

workflow Kinds {
    input {
        count: Int
        ratio: Float = 0.5
        flag: Bool?
        label: String = "none"
        wait: Duration = 2.s
        due: Time?
        scores: Map<String, Int> = [:]
        ids: Map<Int, String> = [:]
        tiers: Map<Tier, Int> = [:]
        people: List<Person> = []
        owner: Person?
    }
    facts { note: String? }
    signal note(text: String, urgent: Bool?, at: Time?) { note = text }
    signal bump(by: Int) { note = "${by}" }
    complete when { note != null }
    output { [note: note] }
}

workflow Other {
    facts { done: Bool = false }
    signal bump(by: Int, reason: String?) { done = true }
    complete when { done }
}
"#;
