//! The built-ins of `std.core` (docs/language.md, "Built-ins"), declared once: each entry has
//! the signature people read (hover, docs) and the checker derives its typing from
//! the same entry's name; the interpreter and the JIT key their implementations on the
//! same names.

use crate::types::Type;

/// What a built-in is called on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Receiver {
    String,
    List,
    Map,
    /// `Int` and `Float`.
    Number,
    Duration,
    Time,
    /// An enum value, such as `codec.name()`.
    EnumValue,
    /// The enum type itself, such as `Codec.valueOf(s)`.
    EnumType,
    /// A free function such as `now()`.
    Global,
}

/// One built-in, as documented.
#[derive(Debug)]
pub struct Builtin {
    pub receiver: Receiver,
    pub name: &'static str,
    pub signature: &'static str,
    pub doc: &'static str,
}

macro_rules! builtins {
    ($($receiver:ident $name:literal $signature:literal $doc:literal;)*) => {
        /// Every built-in method and function of `std.core`.
        pub static BUILTINS: &[Builtin] = &[
            $(Builtin { receiver: Receiver::$receiver, name: $name, signature: $signature, doc: $doc },)*
        ];
    };
}

builtins! {
    String "size" "size(): Int" "The number of characters.";
    String "isEmpty" "isEmpty(): Bool" "Whether the string has no characters.";
    String "contains" "contains(s: String): Bool" "Whether `s` occurs in the string.";
    String "startsWith" "startsWith(s: String): Bool" "Whether the string begins with `s`.";
    String "endsWith" "endsWith(s: String): Bool" "Whether the string ends with `s`.";
    String "toUpperCase" "toUpperCase(): String" "The string in upper case.";
    String "toLowerCase" "toLowerCase(): String" "The string in lower case.";
    String "trim" "trim(): String" "The string without leading and trailing whitespace.";
    String "split" "split(sep: String): List<String>" "The pieces between occurrences of `sep`.";
    String "replace" "replace(a: String, b: String): String" "Every occurrence of `a` replaced by `b`.";
    String "substring" "substring(from: Int, to: Int?): String" "The characters from `from` up to, not including, `to` (left out or `null`: the end).";
    String "toInteger" "toInteger(): Int?" "The string read as an integer, or null when it is not one.";
    String "toFloat" "toFloat(): Float?" "The string read as a number, or null when it is not one.";
    String "matches" "matches(regex: String): Bool" "Whether the whole string matches the regular expression.";

    List "size" "size(): Int" "The number of elements.";
    List "isEmpty" "isEmpty(): Bool" "Whether the list has no elements.";
    List "contains" "contains(x: T): Bool" "Whether an element equals `x`.";
    List "first" "first(): T?" "The first element, or null when empty.";
    List "last" "last(): T?" "The last element, or null when empty.";
    List "any" "any { T -> Bool }: Bool" "Whether the closure holds for some element.";
    List "every" "every { T -> Bool }: Bool" "Whether the closure holds for every element.";
    List "find" "find { T -> Bool }: T?" "The first element for which the closure holds, or null.";
    List "findAll" "findAll { T -> Bool }: List<T>" "The elements for which the closure holds, in order.";
    List "collect" "collect { T -> U }: List<U>" "The closure's value for each element, in order.";
    List "count" "count { T -> Bool }: Int" "How many elements the closure holds for.";
    List "sum" "sum(): T  |  sum { T -> N }: N" "The sum of the elements (numbers or durations), or of the closure's values; 0 when empty.";
    List "min" "min(): T?" "The smallest element, or null when empty.";
    List "max" "max(): T?" "The largest element, or null when empty.";
    List "sort" "sort(): List<T>" "The elements in ascending order.";
    List "sortBy" "sortBy { T -> C }: List<T>" "The elements ordered by the closure's value (stable).";
    List "join" "join(sep: String): String" "The elements formatted as in interpolation, separated by `sep`.";
    List "indexOf" "indexOf(x: T): Int" "The index of the first element equal to `x`, or -1.";
    List "take" "take(n: Int): List<T>" "The first `n` elements.";
    List "drop" "drop(n: Int): List<T>" "All but the first `n` elements.";
    List "unique" "unique(): List<T>" "The elements without repeats, first occurrences kept in order.";
    List "flatten" "flatten(): List<U>" "For a list of lists, their elements in order; any other list as it is.";
    List "each" "each { T -> }" "Runs the closure for each element.";
    List "eachWithIndex" "eachWithIndex { T, Int -> }" "Runs the closure for each element and its index.";

    Map "size" "size(): Int" "The number of entries.";
    Map "isEmpty" "isEmpty(): Bool" "Whether the map has no entries.";
    Map "containsKey" "containsKey(k: K): Bool" "Whether the map has an entry for `k`.";
    Map "get" "get(k: K): V?" "The value for `k`, or null.";
    Map "keys" "keys(): List<K>" "The keys, in insertion order.";
    Map "values" "values(): List<V>" "The values, in insertion order of their keys.";
    Map "each" "each { K, V -> }" "Runs the closure for each entry.";
    Map "any" "any { K, V -> Bool }: Bool" "Whether the closure holds for some entry.";
    Map "findAll" "findAll { K, V -> Bool }: Map<K, V>" "The entries for which the closure holds.";
    Map "collect" "collect { K, V -> U }: List<U>" "The closure's value for each entry, in order.";

    Number "abs" "abs(): N" "The absolute value.";
    Number "toFloat" "toFloat(): Float" "The number as a `Float`.";
    Number "round" "round(): Int" "The nearest integer, halves away from zero.";
    Number "floor" "floor(): Int" "The largest integer not above the number.";
    Number "ceil" "ceil(): Int" "The smallest integer not below the number.";

    Duration "toMillis" "toMillis(): Int" "The duration in whole milliseconds.";
    Duration "toSeconds" "toSeconds(): Float" "The duration in seconds, with fractions.";
    Time "toEpochMillis" "toEpochMillis(): Int" "The time as milliseconds since 1970-01-01T00:00:00Z.";

    EnumValue "name" "name(): String" "The member's name as written.";
    EnumType "valueOf" "valueOf(s: String): E?" "The member named `s`, or null.";

    Global "min" "min(a: N, b: N): N" "The smaller of two numbers (`Float` when either is).";
    Global "max" "max(a: N, b: N): N" "The larger of two numbers (`Float` when either is).";
    Global "now" "now(): Time" "The logical time of the current step, recorded in history.";
    Global "log" "log(message: String)" "Adds a line to the instance's history (reaction, error, signal).";
    Global "sleep" "sleep(d: Duration): Call<Time>" "A durable timer (action only); the reaction gets the time it fired.";
    Global "settle" "settle(calls: List<Call<T>>): Call<List<Outcome<T>>>" "Runs every call to its end, failures included (action only); the reaction gets one `Outcome<T>` per call, in order, and no `error` block runs for them.";
    Global "complete" "complete()  |  complete(value: Json)" "Completes the instance, optionally with its output (reaction, error, signal).";
    Global "fail" "fail(message: String)" "Fails the instance (reaction, error, signal).";
    Global "retry" "retry()  |  retry(after: Duration)" "Runs the failed call again, with the same arguments (error only).";
}

/// The documented built-in for a receiver and name.
pub fn lookup(receiver: Receiver, name: &str) -> Option<&'static Builtin> {
    BUILTINS
        .iter()
        .find(|b| b.receiver == receiver && b.name == name)
}

/// Which documented receiver a value type has.
pub fn receiver_of(ty: &Type) -> Option<Receiver> {
    match ty {
        Type::String => Some(Receiver::String),
        Type::List(_) => Some(Receiver::List),
        Type::Map(_, _) => Some(Receiver::Map),
        Type::Int | Type::Float => Some(Receiver::Number),
        Type::Duration => Some(Receiver::Duration),
        Type::Time => Some(Receiver::Time),
        Type::Enum(_) => Some(Receiver::EnumValue),
        _ => None,
    }
}

/// The names of the built-in methods a receiver has (for "did you mean" and completion).
pub fn method_names(receiver: Receiver) -> impl Iterator<Item = &'static str> {
    BUILTINS
        .iter()
        .filter(move |b| b.receiver == receiver)
        .map(|b| b.name)
}

/// A parameter of a built-in method, with the type its argument is checked against.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub ty: Type,
    pub optional: bool,
}

/// What a method's closure must return.
#[derive(Debug, Clone, PartialEq)]
pub enum ClosureReturn {
    Bool,
    /// Anything; the method's type follows from it.
    Any,
    /// Its value is ignored.
    Ignored,
    /// A number or a duration, for `sum { }`.
    Summable,
    /// Something with an order, for `sortBy { }`.
    Comparable,
}

/// How a method's result type is formed.
#[derive(Debug, Clone)]
pub enum Returns {
    Fixed(Type),
    /// `List<U>` where `U` is the closure's value type.
    ListOfClosure,
    /// The closure's value type itself.
    ClosureValue,
}

/// A built-in method's typing for a given receiver type.
#[derive(Debug, Clone)]
pub struct MethodType {
    pub params: Vec<Param>,
    /// The closure's parameter types, when the method takes one.
    pub closure: Option<(Vec<Type>, ClosureReturn)>,
    pub returns: Returns,
    /// A closure is optional (`sum()` vs `sum { }`).
    pub closure_optional: bool,
}

fn p(name: &'static str, ty: Type) -> Param {
    Param {
        name,
        ty,
        optional: false,
    }
}

fn plain(params: Vec<Param>, ret: Type) -> MethodType {
    MethodType {
        params,
        closure: None,
        returns: Returns::Fixed(ret),
        closure_optional: false,
    }
}

fn with_closure(params: Vec<Type>, closure: ClosureReturn, returns: Returns) -> MethodType {
    MethodType {
        params: Vec::new(),
        closure: Some((params, closure)),
        returns,
        closure_optional: false,
    }
}

/// The typing of `receiver.name(…)`, or `None` when there is no such method.
/// `has_closure` picks between the two forms of `sum`.
pub fn method_type(receiver: &Type, name: &str, has_closure: bool) -> Option<MethodType> {
    use Type as T;
    let m = match receiver {
        T::String => match name {
            "size" => plain(vec![], T::Int),
            "isEmpty" => plain(vec![], T::Bool),
            "contains" | "startsWith" | "endsWith" => plain(vec![p("s", T::String)], T::Bool),
            "toUpperCase" | "toLowerCase" | "trim" => plain(vec![], T::String),
            "split" => plain(vec![p("sep", T::String)], T::list(T::String)),
            "replace" => plain(vec![p("a", T::String), p("b", T::String)], T::String),
            "substring" => plain(
                vec![
                    p("from", T::Int),
                    // `null` (or leaving it out) means the end of the string.
                    Param {
                        name: "to",
                        ty: T::optional(T::Int),
                        optional: true,
                    },
                ],
                T::String,
            ),
            "toInteger" => plain(vec![], T::optional(T::Int)),
            "toFloat" => plain(vec![], T::optional(T::Float)),
            "matches" => plain(vec![p("regex", T::String)], T::Bool),
            _ => return None,
        },
        T::List(element) => {
            let t = (**element).clone();
            match name {
                "size" => plain(vec![], T::Int),
                "isEmpty" => plain(vec![], T::Bool),
                "contains" => plain(vec![p("x", t)], T::Bool),
                "indexOf" => plain(vec![p("x", t)], T::Int),
                "first" | "last" | "min" | "max" => plain(vec![], T::optional(t)),
                "any" | "every" => {
                    with_closure(vec![t], ClosureReturn::Bool, Returns::Fixed(T::Bool))
                }
                "find" => with_closure(
                    vec![t.clone()],
                    ClosureReturn::Bool,
                    Returns::Fixed(T::optional(t)),
                ),
                "findAll" => with_closure(
                    vec![t.clone()],
                    ClosureReturn::Bool,
                    Returns::Fixed(T::list(t)),
                ),
                "collect" => with_closure(vec![t], ClosureReturn::Any, Returns::ListOfClosure),
                "count" => with_closure(vec![t], ClosureReturn::Bool, Returns::Fixed(T::Int)),
                "sum" if has_closure => {
                    with_closure(vec![t], ClosureReturn::Summable, Returns::ClosureValue)
                }
                "sum" => plain(vec![], t),
                "sort" | "unique" => plain(vec![], T::list(t)),
                "sortBy" => with_closure(
                    vec![t.clone()],
                    ClosureReturn::Comparable,
                    Returns::Fixed(T::list(t)),
                ),
                "join" => plain(vec![p("sep", T::String)], T::String),
                "take" | "drop" => plain(vec![p("n", T::Int)], T::list(t)),
                "flatten" => match t {
                    T::List(inner) => plain(vec![], T::List(inner)),
                    other => plain(vec![], T::list(other)),
                },
                "each" => with_closure(vec![t], ClosureReturn::Ignored, Returns::Fixed(T::Unit)),
                "eachWithIndex" => with_closure(
                    vec![t, T::Int],
                    ClosureReturn::Ignored,
                    Returns::Fixed(T::Unit),
                ),
                _ => return None,
            }
        }
        T::Map(key, value) => {
            let (k, v) = ((**key).clone(), (**value).clone());
            match name {
                "size" => plain(vec![], T::Int),
                "isEmpty" => plain(vec![], T::Bool),
                "containsKey" => plain(vec![p("k", k)], T::Bool),
                "get" => plain(vec![p("k", k)], T::optional(v)),
                "keys" => plain(vec![], T::list(k)),
                "values" => plain(vec![], T::list(v)),
                "each" => with_closure(vec![k, v], ClosureReturn::Ignored, Returns::Fixed(T::Unit)),
                "any" => with_closure(vec![k, v], ClosureReturn::Bool, Returns::Fixed(T::Bool)),
                "findAll" => with_closure(
                    vec![k.clone(), v.clone()],
                    ClosureReturn::Bool,
                    Returns::Fixed(T::map(k, v)),
                ),
                "collect" => with_closure(vec![k, v], ClosureReturn::Any, Returns::ListOfClosure),
                _ => return None,
            }
        }
        T::Int | T::Float => match name {
            "abs" => plain(vec![], receiver.clone()),
            "toFloat" => plain(vec![], T::Float),
            "round" | "floor" | "ceil" => plain(vec![], T::Int),
            _ => return None,
        },
        T::Duration => match name {
            "toMillis" => plain(vec![], T::Int),
            "toSeconds" => plain(vec![], T::Float),
            _ => return None,
        },
        T::Time => match name {
            "toEpochMillis" => plain(vec![], T::Int),
            _ => return None,
        },
        T::Enum(_) => match name {
            "name" => plain(vec![], T::String),
            _ => return None,
        },
        _ => return None,
    };
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_method_has_a_typing() {
        for b in BUILTINS {
            let sample = match b.receiver {
                Receiver::String => Type::String,
                Receiver::List => Type::list(Type::list(Type::Int)),
                Receiver::Map => Type::map(Type::String, Type::Int),
                Receiver::Number => Type::Float,
                Receiver::Duration => Type::Duration,
                Receiver::Time => Type::Time,
                Receiver::EnumValue => Type::Enum(crate::types::DeclKey::new("m", "E")),
                Receiver::EnumType | Receiver::Global => continue,
            };
            let closure = b.signature.contains('{');
            assert!(
                method_type(&sample, b.name, closure).is_some(),
                "{} has no typing",
                b.signature
            );
        }
    }

    #[test]
    fn every_typed_method_is_documented() {
        let samples = [
            (Type::String, Receiver::String),
            (Type::list(Type::Int), Receiver::List),
            (Type::map(Type::String, Type::Int), Receiver::Map),
            (Type::Int, Receiver::Number),
            (Type::Duration, Receiver::Duration),
            (Type::Time, Receiver::Time),
        ];
        let candidates = BUILTINS.iter().map(|b| b.name).collect::<Vec<_>>();
        for (ty, receiver) in samples {
            for name in &candidates {
                if method_type(&ty, name, false).is_some() {
                    assert!(
                        lookup(receiver, name).is_some(),
                        "{name} on {ty} is undocumented"
                    );
                }
            }
        }
    }
}
