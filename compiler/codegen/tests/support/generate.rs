//! A generator of random, well-typed Emx helpers over the whole type system: ints
//! (with overflow), floats, strings, lists, maps, records, optionals, enums, loops
//! and closures, assignments and compound assignments. Driven by a seed, so that a
//! proptest failure names a reproducible program.

#![allow(dead_code)]

use cosmos_ir::value::Value;
use cosmos_ir::{EnumId, Program, RecordId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    Int,
    Float,
    Bool,
    Str,
    Ints,
    Strs,
    Map,
    OptInt,
    Color,
    Point,
    Dur,
}

const ALL: [T; 11] = [
    T::Int,
    T::Float,
    T::Bool,
    T::Str,
    T::Ints,
    T::Strs,
    T::Map,
    T::OptInt,
    T::Color,
    T::Point,
    T::Dur,
];

impl T {
    fn emx(self) -> &'static str {
        match self {
            T::Int => "Int",
            T::Float => "Float",
            T::Bool => "Bool",
            T::Str => "String",
            T::Ints => "List<Int>",
            T::Strs => "List<String>",
            T::Map => "Map<String, Int>",
            T::OptInt => "Int?",
            T::Color => "Color",
            T::Point => "Point",
            T::Dur => "Duration",
        }
    }
}

pub struct Gen {
    state: u64,
    env: Vec<(String, T)>,
    locals: usize,
    /// Locals that may be assigned (declared in this body, not closure parameters).
    assignable: Vec<(String, T)>,
}

pub const PARAMS: &str = "a: Int, b: Int, x: Float, s: String, xs: List<Int>, m: Map<String, Int>, o: Int?, c: Color, p: Point, ws: List<String>";

impl Gen {
    pub fn new(seed: u64) -> Self {
        let env = [
            ("a", T::Int),
            ("b", T::Int),
            ("x", T::Float),
            ("s", T::Str),
            ("xs", T::Ints),
            ("m", T::Map),
            ("o", T::OptInt),
            ("c", T::Color),
            ("p", T::Point),
            ("ws", T::Strs),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
        Gen {
            state: seed ^ 0x9E37_79B9_7F4A_7C15,
            env,
            locals: 0,
            assignable: Vec::new(),
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.state.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'s>(&mut self, xs: &[&'s str]) -> &'s str {
        xs[self.below(xs.len())]
    }

    /// A variable of type `t` in scope (the latest binding of each name), if any.
    fn var(&mut self, t: T) -> Option<String> {
        let mut seen = std::collections::HashSet::new();
        let mut found = Vec::new();
        for (name, ty) in self.env.iter().rev() {
            if seen.insert(name.clone()) && *ty == t {
                found.push(name.clone());
            }
        }
        if found.is_empty() {
            None
        } else {
            let i = self.below(found.len());
            Some(found[i].clone())
        }
    }

    fn closure(&mut self, t: T, elem: T, d: u32) -> String {
        self.env.push(("it".to_string(), elem));
        let e = self.expr(t, d);
        self.env.pop();
        e
    }

    fn map_closure(&mut self, t: T, d: u32) -> String {
        self.env.push(("k".to_string(), T::Str));
        self.env.push(("v".to_string(), T::Int));
        let e = self.expr(t, d);
        self.env.pop();
        self.env.pop();
        format!("k, v -> {e}")
    }

    /// An expression of type `t`, at most `d` levels deep.
    pub fn expr(&mut self, t: T, d: u32) -> String {
        if d == 0 || self.below(4) == 0 {
            return self.leaf(t);
        }
        let d = d - 1;
        match t {
            T::Int => match self.below(22) {
                0 => format!("({} + {})", self.expr(T::Int, d), self.expr(T::Int, d)),
                1 => format!("({} - {})", self.expr(T::Int, d), self.expr(T::Int, d)),
                2 => format!("({} * {})", self.expr(T::Int, d), self.expr(T::Int, d)),
                3 => format!("({} / {})", self.expr(T::Int, d), self.expr(T::Int, d)),
                4 => format!("({} % {})", self.expr(T::Int, d), self.expr(T::Int, d)),
                5 => format!("(-{})", self.expr(T::Int, d)),
                6 => format!("{}.size()", self.expr(T::Str, d)),
                7 => format!("{}.size()", self.expr(T::Ints, d)),
                8 => format!("{}.sum()", self.expr(T::Ints, d)),
                9 => format!("xs.count {{ {} }}", self.closure(T::Bool, T::Int, d)),
                10 => format!("({} ?: {})", self.expr(T::OptInt, d), self.expr(T::Int, d)),
                11 => format!(
                    "({} ? {} : {})",
                    self.expr(T::Bool, d),
                    self.expr(T::Int, d),
                    self.expr(T::Int, d)
                ),
                12 => format!("{}[{}]", self.expr(T::Ints, d), self.expr(T::Int, d)),
                13 => format!("{}.x", self.expr(T::Point, d)),
                14 => format!("xs.sum {{ {} }}", self.closure(T::Int, T::Int, d)),
                15 => format!("({}).abs()", self.expr(T::Int, d)),
                16 => format!("min({}, {})", self.expr(T::Int, d), self.expr(T::Int, d)),
                17 => format!("max({}, {})", self.expr(T::Int, d), self.expr(T::Int, d)),
                18 => format!(
                    "{}.indexOf({})",
                    self.expr(T::Ints, d),
                    self.expr(T::Int, d)
                ),
                19 => format!("tri(({}) % 60)", self.expr(T::Int, d)),
                20 => format!("({}).round()", self.expr(T::Float, d)),
                _ => format!("{}.size()", self.expr(T::Map, d)),
            },
            T::Float => match self.below(9) {
                0 => format!("({} + {})", self.expr(T::Float, d), self.expr(T::Float, d)),
                1 => format!("({} - {})", self.expr(T::Float, d), self.expr(T::Int, d)),
                2 => format!("({} * {})", self.expr(T::Float, d), self.expr(T::Float, d)),
                3 => format!("({} / {})", self.expr(T::Float, d), self.expr(T::Float, d)),
                4 => format!("({} % {})", self.expr(T::Float, d), self.expr(T::Float, d)),
                5 => format!("({}).toFloat()", self.expr(T::Int, d)),
                6 => format!("({}).abs()", self.expr(T::Float, d)),
                7 => format!("(-{})", self.expr(T::Float, d)),
                _ => format!("max({}, {})", self.expr(T::Float, d), self.expr(T::Int, d)),
            },
            T::Bool => match self.below(25) {
                0 => format!("({} < {})", self.expr(T::Int, d), self.expr(T::Int, d)),
                1 => format!("({} >= {})", self.expr(T::Int, d), self.expr(T::Int, d)),
                2 => format!("({} == {})", self.expr(T::Int, d), self.expr(T::Int, d)),
                3 => format!("({} != {})", self.expr(T::Str, d), self.expr(T::Str, d)),
                4 => format!("({} == {})", self.expr(T::Ints, d), self.expr(T::Ints, d)),
                5 => format!("({} && {})", self.expr(T::Bool, d), self.expr(T::Bool, d)),
                6 => format!("({} || {})", self.expr(T::Bool, d), self.expr(T::Bool, d)),
                7 => format!("(!{})", self.expr(T::Bool, d)),
                8 => format!(
                    "{}.contains({})",
                    self.expr(T::Ints, d),
                    self.expr(T::Int, d)
                ),
                9 => format!("xs.any {{ {} }}", self.closure(T::Bool, T::Int, d)),
                10 => format!("xs.every {{ {} }}", self.closure(T::Bool, T::Int, d)),
                11 => format!(
                    "{}.containsKey({})",
                    self.expr(T::Map, d),
                    self.expr(T::Str, d)
                ),
                12 => format!(
                    "{}.startsWith({})",
                    self.expr(T::Str, d),
                    self.expr(T::Str, d)
                ),
                13 => format!("({} == null)", self.expr(T::OptInt, d)),
                14 => format!("({} != null)", self.expr(T::OptInt, d)),
                15 => format!("({} in {})", self.expr(T::Int, d), self.expr(T::Ints, d)),
                16 => format!("({} < {})", self.expr(T::Float, d), self.expr(T::Float, d)),
                17 => format!("{}.isEmpty()", self.expr(T::Str, d)),
                18 => format!("({} == Color.RED)", self.expr(T::Color, d)),
                19 => format!("({} == {})", self.expr(T::Point, d), self.expr(T::Point, d)),
                20 => format!("({} < {})", self.expr(T::Str, d), self.expr(T::Str, d)),
                21 => format!("({} == {})", self.expr(T::Float, d), self.expr(T::Float, d)),
                22 => format!("m.any {{ {} }}", self.map_closure(T::Bool, d)),
                23 => format!("({} < {})", self.expr(T::Dur, d), self.expr(T::Dur, d)),
                _ => format!("({} == {})", self.expr(T::Map, d), self.expr(T::Map, d)),
            },
            T::Str => match self.below(17) {
                0 => format!("({} + {})", self.expr(T::Str, d), self.expr(T::Str, d)),
                1 => format!(
                    "\"x${{{}}}y${{{}}}z\"",
                    self.expr(T::Int, d),
                    self.expr(T::Float, d)
                ),
                2 => format!("{}.toUpperCase()", self.expr(T::Str, d)),
                3 => format!("{}.join(\",\")", self.expr(T::Ints, d)),
                4 => format!("{}.name()", self.expr(T::Color, d)),
                5 => format!("\"${{{}}}\"", self.expr(T::Ints, d)),
                6 => format!(
                    "\"${{{}}} ${{{}}}\"",
                    self.expr(T::Map, d),
                    self.expr(T::Bool, d)
                ),
                7 => format!("\"${{{}}}\"", self.expr(T::Point, d)),
                8 => format!("\"${{{}}}\"", self.expr(T::OptInt, d)),
                9 => format!("{}.trim()", self.expr(T::Str, d)),
                10 => format!("{}.replace(\"a\", \"bb\")", self.expr(T::Str, d)),
                11 => format!(
                    "({} ? {} : {})",
                    self.expr(T::Bool, d),
                    self.expr(T::Str, d),
                    self.expr(T::Str, d)
                ),
                12 => format!("{}.join(\"-\")", self.expr(T::Strs, d)),
                13 => format!(
                    "({}.tag ?: {})",
                    self.expr(T::Point, d),
                    self.expr(T::Str, d)
                ),
                14 => format!(
                    "{}.substring({})",
                    self.expr(T::Str, d),
                    self.expr(T::Int, d)
                ),
                15 => format!("\"${{{}}}\"", self.expr(T::Dur, d)),
                _ => format!("\"${{{}}}\"", self.expr(T::Strs, d)),
            },
            T::Ints => match self.below(13) {
                0 => format!("[{}, {}]", self.expr(T::Int, d), self.expr(T::Int, d)),
                1 => format!("xs.findAll {{ {} }}", self.closure(T::Bool, T::Int, d)),
                2 => format!("xs.collect {{ {} }}", self.closure(T::Int, T::Int, d)),
                3 => format!("({} + {})", self.expr(T::Ints, d), self.expr(T::Ints, d)),
                4 => format!("{}.sort()", self.expr(T::Ints, d)),
                5 => format!("{}.take({})", self.expr(T::Ints, d), self.expr(T::Int, d)),
                6 => format!("{}.drop({})", self.expr(T::Ints, d), self.expr(T::Int, d)),
                7 => format!("(0..<(({}) % 20))", self.expr(T::Int, d)),
                8 => format!("xs.sortBy {{ {} }}", self.closure(T::Int, T::Int, d)),
                9 => format!("{}.unique()", self.expr(T::Ints, d)),
                10 => format!("{}.values()", self.expr(T::Map, d)),
                11 => format!("m.collect {{ {} }}", self.map_closure(T::Int, d)),
                _ => format!("(1..(({}) % 5))", self.expr(T::Int, d)),
            },
            T::Strs => match self.below(5) {
                0 => format!("{}.split(\",\")", self.expr(T::Str, d)),
                1 => format!("ws.collect {{ {} }}", self.closure(T::Str, T::Str, d)),
                2 => format!("{}.keys()", self.expr(T::Map, d)),
                3 => format!("{}.sort()", self.expr(T::Strs, d)),
                _ => format!("[{}, {}]", self.expr(T::Str, d), self.expr(T::Str, d)),
            },
            T::Map => match self.below(4) {
                0 => format!("[a: {}, b: {}]", self.expr(T::Int, d), self.expr(T::Int, d)),
                1 => format!("({} + {})", self.expr(T::Map, d), self.expr(T::Map, d)),
                2 => format!("m.findAll {{ {} }}", self.map_closure(T::Bool, d)),
                _ => format!("[({}): {}]", self.expr(T::Str, d), self.expr(T::Int, d)),
            },
            T::OptInt => match self.below(7) {
                0 => format!("{}[{}]", self.expr(T::Map, d), self.expr(T::Str, d)),
                1 => format!("{}.first()", self.expr(T::Ints, d)),
                2 => format!("xs.find {{ {} }}", self.closure(T::Bool, T::Int, d)),
                3 => format!("{}.toInteger()", self.expr(T::Str, d)),
                4 => format!("{}.max()", self.expr(T::Ints, d)),
                5 => format!("{}.get({})", self.expr(T::Map, d), self.expr(T::Str, d)),
                _ => format!(
                    "({} ? {} : null)",
                    self.expr(T::Bool, d),
                    self.expr(T::Int, d)
                ),
            },
            T::Color => match self.below(2) {
                0 => format!(
                    "(Color.valueOf({}) ?: {})",
                    self.expr(T::Str, d),
                    self.expr(T::Color, d)
                ),
                _ => format!(
                    "({} ? {} : {})",
                    self.expr(T::Bool, d),
                    self.expr(T::Color, d),
                    self.expr(T::Color, d)
                ),
            },
            T::Dur => match self.below(5) {
                0 => format!("({} + {})", self.expr(T::Dur, d), self.expr(T::Dur, d)),
                1 => format!("({} * {})", self.expr(T::Dur, d), self.expr(T::Int, d)),
                2 => format!("({} - {})", self.expr(T::Dur, d), self.expr(T::Dur, d)),
                3 => format!("({} / {})", self.expr(T::Dur, d), self.expr(T::Int, d)),
                _ => format!("(-{})", self.expr(T::Dur, d)),
            },
            T::Point => match self.below(2) {
                0 => format!(
                    "Point(x: {}, name: {})",
                    self.expr(T::Int, d),
                    self.expr(T::Str, d)
                ),
                _ => format!(
                    "Point(x: {}, name: {}, tag: {})",
                    self.expr(T::Int, d),
                    self.expr(T::Str, d),
                    self.expr(T::Str, d)
                ),
            },
        }
    }

    fn leaf(&mut self, t: T) -> String {
        if self.below(3) != 0
            && let Some(v) = self.var(t)
        {
            return v;
        }
        match t {
            T::Int => self
                .pick(&[
                    "0",
                    "1",
                    "2",
                    "-1",
                    "7",
                    "1000",
                    "9223372036854775807",
                    "3037000500",
                ])
                .to_string(),
            T::Float => self
                .pick(&["1.5", "0.0", "-2.25", "1e300", "0.1"])
                .to_string(),
            T::Bool => self.pick(&["true", "false"]).to_string(),
            T::Str => self
                .pick(&["\"\"", "\"a\"", "\"a,b\"", "\"12\"", "\" RED \""])
                .to_string(),
            T::Ints => self.pick(&["xs", "[1, 2, 3]", "[0]"]).to_string(),
            T::Strs => self.pick(&["ws", "[\"a\", \"b\"]"]).to_string(),
            T::Map => self.pick(&["m", "[a: 1]", "[z: 2, a: 3]"]).to_string(),
            T::OptInt => self.pick(&["o", "null", "5"]).to_string(),
            T::Color => self
                .pick(&["Color.RED", "Color.GREEN", "Color.BLUE", "c"])
                .to_string(),
            T::Point => self.pick(&["p", "Point(x: 1, name: \"n\")"]).to_string(),
            T::Dur => self
                .pick(&["1.s", "90.min", "2.h", "1500.ms", "0.s"])
                .to_string(),
        }
    }

    fn stmt(&mut self, out: &mut String, indent: &str, d: u32) {
        match self.below(8) {
            0 | 1 => {
                let t = ALL[self.below(ALL.len())];
                let e = self.expr(t, d);
                let name = format!("v{}", self.locals);
                self.locals += 1;
                out.push_str(&format!("{indent}def {name}: {} = {e}\n", t.emx()));
                self.env.push((name.clone(), t));
                self.assignable.push((name, t));
            }
            2 => {
                if let Some((name, t)) = self.assignable_var() {
                    let e = self.expr(t, d);
                    out.push_str(&format!("{indent}{name} = {e}\n"));
                }
            }
            3 => {
                if let Some((name, t)) = self.assignable_var() {
                    let line = match t {
                        T::Int => format!("{name} += {}", self.expr(T::Int, d)),
                        T::Float => format!("{name} *= {}", self.expr(T::Float, d)),
                        T::Str => format!("{name} += {}", self.expr(T::Int, d)),
                        T::Ints => format!("{name} << {}", self.expr(T::Int, d)),
                        T::Strs => format!("{name} << {}", self.expr(T::Str, d)),
                        T::Map => format!(
                            "{name}[{}] = {}",
                            self.expr(T::Str, d),
                            self.expr(T::Int, d)
                        ),
                        T::Point => format!("{name}.x += {}", self.expr(T::Int, d)),
                        T::Dur => format!("{name} += {}", self.expr(T::Dur, d)),
                        _ => format!("{name} = {}", self.expr(t, d)),
                    };
                    out.push_str(&format!("{indent}{line}\n"));
                }
            }
            4 => {
                let c = self.expr(T::Bool, d);
                out.push_str(&format!("{indent}if ({c}) {{\n"));
                let inner = format!("{indent}    ");
                let (env, assignable) = (self.env.len(), self.assignable.len());
                self.stmt(out, &inner, d);
                self.env.truncate(env);
                self.assignable.truncate(assignable);
                out.push_str(&format!("{indent}}} else {{\n"));
                self.stmt(out, &inner, d);
                self.env.truncate(env);
                self.assignable.truncate(assignable);
                out.push_str(&format!("{indent}}}\n"));
            }
            5 => {
                let list = self.expr(T::Ints, d);
                let var = format!("i{}", self.locals);
                self.locals += 1;
                out.push_str(&format!("{indent}for ({var} in {list}) {{\n"));
                let (env, assignable) = (self.env.len(), self.assignable.len());
                self.env.push((var, T::Int));
                self.stmt(out, &format!("{indent}    "), d);
                self.env.truncate(env);
                self.assignable.truncate(assignable);
                out.push_str(&format!("{indent}}}\n"));
            }
            6 => {
                if let Some((name, T::Int)) = self.assignable_var() {
                    out.push_str(&format!("{indent}xs.each {{ {name} += it }}\n"));
                }
            }
            _ => match self.assignable_var() {
                Some((name, T::Map)) => {
                    let k = self.expr(T::Str, d);
                    out.push_str(&format!("{indent}{name}[{k}] += 1\n"));
                }
                Some((name, T::Ints)) => {
                    let i = self.expr(T::Int, d);
                    let v = self.expr(T::Int, d);
                    out.push_str(&format!("{indent}{name}[{i}] = {v}\n"));
                }
                Some((name, T::Point)) => {
                    let v = self.expr(T::Str, d);
                    out.push_str(&format!("{indent}{name}.name = {v}\n"));
                }
                _ => {}
            },
        }
    }

    fn assignable_var(&mut self) -> Option<(String, T)> {
        if self.assignable.is_empty() {
            return None;
        }
        let i = self.below(self.assignable.len());
        Some(self.assignable[i].clone())
    }

    /// A whole module: declarations, a recursive helper and `def f(…): T`.
    pub fn program(&mut self) -> String {
        let ret = ALL[self.below(ALL.len())];
        let (env, assignable) = (self.env.clone(), self.assignable.clone());
        let mut body = String::new();
        for _ in 0..self.below(6) {
            self.stmt(&mut body, "    ", 3);
        }
        let value = self.expr(ret, 4);
        self.env = env;
        self.assignable = assignable;
        format!(
            "enum Color {{ RED, GREEN, BLUE }}\n\
             type Point {{ x: Int, name: String, tag: String? }}\n\
             def tri(n: Int): Int {{ if (n <= 0) 0 else n + tri(n - 1) }}\n\
             def f({PARAMS}): {} {{\n{body}    {value}\n}}\n",
            ret.emx()
        )
    }

    /// A workflow over the same names as `f`'s parameters (its inputs) and facts of
    /// every type, whose rules' `match`, action and reaction (assigning facts,
    /// through paths too), `complete when` and `output` are random.
    pub fn workflow(&mut self) -> String {
        const FACTS: [(&str, T, &str); 11] = [
            ("n", T::Int, " = 0"),
            ("fl", T::Float, " = 0.5"),
            ("t", T::Str, " = \"\""),
            ("l", T::Ints, " = []"),
            ("mm", T::Map, " = [:]"),
            ("on", T::OptInt, ""),
            ("pt", T::Point, " = Point(x: 1, name: \"q\")"),
            ("col", T::Color, " = Color.GREEN"),
            ("d", T::Dur, " = 1.s"),
            ("ok", T::Bool, " = false"),
            ("sl", T::Strs, " = []"),
        ];
        let inputs = self.env.clone();
        for (name, t, _) in FACTS {
            self.env.push((name.to_string(), t));
        }
        let facts: Vec<String> = FACTS
            .iter()
            .map(|(name, t, init)| format!("        {name}: {}{init}", t.emx()))
            .collect();
        let mut rules = String::new();
        for r in 0..1 + self.below(3) {
            let matcher = self.expr(T::Bool, 3);
            let action = self.expr(T::Int, 3);
            let (env, locals) = (self.env.len(), self.assignable.len());
            self.env.push(("result".to_string(), T::Int));
            self.assignable
                .extend(FACTS.iter().map(|(n, t, _)| (n.to_string(), *t)));
            let mut reaction = String::new();
            for _ in 0..1 + self.below(5) {
                self.stmt(&mut reaction, "            ", 2);
            }
            self.env.truncate(env);
            self.assignable.truncate(locals);
            rules.push_str(&format!(
                "    rule \"r{r}\" {{\n        match {{ {matcher} }}\n        action {{ {action} }}\n        reaction {{\n{reaction}        }}\n    }}\n"
            ));
        }
        let done = self.expr(T::Bool, 3);
        let out = self.expr(T::Str, 2);
        self.env = inputs;
        format!(
            "workflow W {{\n    input {{ {PARAMS} }}\n    facts {{\n{}\n    }}\n{rules}    complete when {{ {done} }}\n    output {{ [n: n, l: l, pt: pt, on: on, d: d, text: {out}] }}\n}}\n",
            facts.join("\n")
        )
    }

    /// Arguments for `f`, as values of the program's own layouts.
    pub fn args(&mut self, program: &Program) -> Vec<Value> {
        let color = EnumId(
            program
                .enums
                .iter()
                .position(|e| e.name == "Color")
                .unwrap_or(0) as u32,
        );
        let point = RecordId(
            program
                .records
                .iter()
                .position(|r| r.name == "Point")
                .unwrap_or(0) as u32,
        );
        let ints = [0, 1, -1, 2, 7, 1000, i64::MAX, i64::MIN, 3_037_000_500];
        let int = |g: &mut Gen| ints[g.below(ints.len())];
        let a = int(self);
        let b = int(self);
        let floats = [0.0, 1.5, -0.5, f64::NAN, f64::INFINITY, 1e-300, 2.0];
        let x = floats[self.below(floats.len())];
        let strs = ["", "a", "a,b,c", "42", "héllo", " RED "];
        let s = strs[self.below(strs.len())].to_string();
        let xs = (0..self.below(5)).map(|_| Value::Int(int(self))).collect();
        let m = (0..self.below(3))
            .map(|i| (Value::Str(["a", "b", "z"][i].into()), Value::Int(int(self))))
            .collect();
        let o = if self.below(2) == 0 {
            Value::Null
        } else {
            Value::Int(int(self))
        };
        let c = Value::Enum(color, self.below(3) as u32);
        let tag = if self.below(2) == 0 {
            Value::Null
        } else {
            Value::Str("t".into())
        };
        let p = Value::Record(
            point,
            vec![Value::Int(int(self)), Value::Str(s.as_str().into()), tag],
        );
        let ws = (0..self.below(4))
            .map(|i| Value::Str(strs[i % strs.len()].into()))
            .collect();
        vec![
            Value::Int(a),
            Value::Int(b),
            Value::Float(x),
            Value::Str(s.into()),
            Value::List(xs),
            Value::Map(m),
            o,
            c,
            p,
            Value::List(ws),
        ]
    }
}
