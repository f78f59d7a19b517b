//! The IR as text, for people: `cosmosc compile --emit ir` and the golden tests.
//! Operations print as `(op operands…)`, slots as `%n`, facts and inputs by index and
//! name, blocks indented with their value after `=>`.

use crate::json::ty_name;
use crate::{
    Block, Const, Expr, ExprKind, FieldLayout, Function, Place, PlaceRoot, PlaceStep, Program,
    Stmt, Ty, WorkflowIr,
};
use std::fmt::Write;

struct Printer<'p> {
    program: &'p Program,
    workflow: Option<&'p WorkflowIr>,
    out: String,
    indent: usize,
}

pub(crate) fn program(program: &Program) -> String {
    let mut p = Printer {
        program,
        workflow: None,
        out: String::new(),
        indent: 0,
    };
    for record in &program.records {
        let _ = writeln!(p.out, "record {}.{} {{", record.module, record.name);
        p.fields("field", &record.fields);
        p.out.push_str("}\n");
    }
    for e in &program.enums {
        let variants: Vec<String> = e
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v}#{i}"))
            .collect();
        let _ = writeln!(
            p.out,
            "enum {}.{} {{ {} }}",
            e.module,
            e.name,
            variants.join(", ")
        );
    }
    for f in &program.functions {
        let params: Vec<String> = f
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {}", p.ty(t)))
            .collect();
        let settings = &f.settings;
        let mut extra = String::new();
        if let Some(ms) = settings.heartbeat_ms {
            extra.push_str(&format!(" heartbeat {ms}ms"));
        }
        if let Some(r) = &settings.retry {
            extra.push_str(&format!(
                " retry attempts {} delay {}ms factor {:?} max {}ms on {:?}",
                r.attempts, r.delay_ms, r.factor, r.max_ms, r.on
            ));
        }
        let _ = writeln!(
            p.out,
            "function {}.{}({}): {} {{ command {:?} pool {:?} timeout {}ms warm {} batch {} priority {}{extra} }}",
            f.module,
            f.name,
            params.join(", "),
            p.ty(&f.ret),
            settings.command,
            settings.pool,
            settings.timeout_ms,
            settings.warm,
            settings.batch,
            settings.priority
        );
    }
    for (i, helper) in program.helpers.iter().enumerate() {
        let _ = write!(p.out, "helper#{i} ");
        p.function(helper);
    }
    for w in &program.workflows {
        p.workflow = Some(w);
        let _ = writeln!(p.out, "workflow {}.{} {{", w.module, w.name);
        p.indent = 1;
        p.indent = 0;
        p.fields("input", &w.inputs);
        p.fields("fact", &w.facts);
        p.indent = 1;
        for rule in &w.rules {
            p.line();
            let _ = write!(p.out, "rule {:?} priority {}", rule.name, rule.priority);
            if let Some(t) = rule.timeout_ms {
                let _ = write!(p.out, " timeout {t}ms");
            }
            let _ = write!(p.out, " reads {:?} writes {:?}", rule.reads, rule.writes);
            p.out.push('\n');
            p.indent = 2;
            for f in [&rule.matcher, &rule.action, &rule.reaction, &rule.error]
                .into_iter()
                .flatten()
            {
                p.line();
                p.function(f);
            }
            p.indent = 1;
        }
        for s in &w.signals {
            p.line();
            p.function(&s.handler);
        }
        for f in [&w.complete_when, &w.output].into_iter().flatten() {
            p.line();
            p.function(f);
        }
        p.indent = 0;
        p.out.push_str("}\n");
        p.workflow = None;
    }
    p.out
}

impl Printer<'_> {
    fn line(&mut self) {
        for _ in 0..self.indent {
            self.out.push_str("    ");
        }
    }

    fn ty(&self, ty: &Ty) -> String {
        ty_name(self.program, ty)
    }

    fn fields(&mut self, what: &str, fields: &[FieldLayout]) {
        self.indent += 1;
        for (i, f) in fields.iter().enumerate() {
            self.line();
            let _ = write!(self.out, "{what}#{i} {}: {}", f.name, self.ty(&f.ty));
            if let Some(d) = &f.default {
                self.out.push_str(" = ");
                self.expr(d);
            }
            self.out.push('\n');
        }
        self.indent -= 1;
    }

    fn function(&mut self, f: &Function) {
        let params: Vec<String> = f
            .slots
            .iter()
            .take(f.params as usize)
            .enumerate()
            .map(|(i, s)| format!("%{i} {}: {}", s.name, self.ty(&s.ty)))
            .collect();
        let _ = write!(
            self.out,
            "{}({}): {}",
            f.name,
            params.join(", "),
            self.ty(&f.ret)
        );
        let locals: Vec<String> = f
            .slots
            .iter()
            .enumerate()
            .skip(f.params as usize)
            .map(|(i, s)| format!("%{i} {}", s.name))
            .collect();
        if !locals.is_empty() {
            let _ = write!(self.out, " [{}]", locals.join(", "));
        }
        self.out.push(' ');
        self.block(&f.body);
        self.out.push('\n');
    }

    fn block(&mut self, block: &Block) {
        self.out.push_str("{\n");
        self.indent += 1;
        for stmt in &block.stmts {
            self.line();
            self.stmt(stmt);
            self.out.push('\n');
        }
        if let Some(v) = &block.value {
            self.line();
            self.out.push_str("=> ");
            self.expr(v);
            self.out.push('\n');
        }
        self.indent -= 1;
        self.line();
        self.out.push('}');
    }

    fn place(&mut self, place: &Place) {
        match place.root {
            PlaceRoot::Local(s) => {
                let _ = write!(self.out, "%{}", s.0);
            }
            PlaceRoot::Fact(i) => self.fact(i),
        }
        for step in &place.path {
            match step {
                PlaceStep::Field(i) => {
                    let _ = write!(self.out, ".#{i}");
                }
                PlaceStep::Index { index, .. } => {
                    self.out.push('[');
                    self.expr(index);
                    self.out.push(']');
                }
                PlaceStep::Key(k) => {
                    self.out.push_str("[key ");
                    self.expr(k);
                    self.out.push(']');
                }
            }
        }
    }

    fn fact(&mut self, i: u32) {
        let name = self
            .workflow
            .and_then(|w| w.facts.get(i as usize))
            .map_or("?", |f| f.name.as_str());
        let _ = write!(self.out, "fact#{i}({name})");
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Set(slot, e) => {
                let _ = write!(self.out, "%{} = ", slot.0);
                self.expr(e);
            }
            Stmt::Assign { place, value } => {
                self.out.push_str("store ");
                self.place(place);
                self.out.push_str(" = ");
                self.expr(value);
            }
            Stmt::Append { place, value } => {
                self.out.push_str("append ");
                self.place(place);
                self.out.push_str(" << ");
                self.expr(value);
            }
            Stmt::Update {
                place, op, value, ..
            } => {
                self.out.push_str("update ");
                self.place(place);
                match op {
                    crate::UpdateOp::Arith(op) => {
                        let _ = write!(self.out, " {op:?} ");
                    }
                    crate::UpdateOp::Concat => self.out.push_str(" Concat "),
                }
                self.expr(value);
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                self.out.push_str("if ");
                self.expr(cond);
                self.out.push(' ');
                self.block(then);
                if !otherwise.stmts.is_empty() || otherwise.value.is_some() {
                    self.out.push_str(" else ");
                    self.block(otherwise);
                }
            }
            Stmt::ForEach { var, list, body } => {
                let _ = write!(self.out, "for %{} in ", var.0);
                self.expr(list);
                self.out.push(' ');
                self.block(body);
            }
            Stmt::Return(e) => {
                self.out.push_str("return ");
                self.expr(e);
            }
            Stmt::Expr(e) => self.expr(e),
            Stmt::Log(e) => {
                self.out.push_str("log ");
                self.expr(e);
            }
            Stmt::Complete(e) => {
                self.out.push_str("complete");
                if let Some(e) = e {
                    self.out.push(' ');
                    self.expr(e);
                }
            }
            Stmt::Fail(e) => {
                self.out.push_str("fail ");
                self.expr(e);
            }
            Stmt::Retry(e) => {
                self.out.push_str("retry");
                if let Some(e) = e {
                    self.out.push(' ');
                    self.expr(e);
                }
            }
        }
    }

    fn list(&mut self, items: &[Expr]) {
        for item in items {
            self.out.push(' ');
            self.expr(item);
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Const(c) => {
                let _ = match c {
                    Const::Int(n) => write!(self.out, "{n}"),
                    Const::Float(f) => write!(self.out, "{f:?}"),
                    Const::Bool(b) => write!(self.out, "{b}"),
                    Const::Str(s) => write!(self.out, "{s:?}"),
                    Const::Duration(ms) => write!(self.out, "{ms}ms"),
                    Const::Null => write!(self.out, "null"),
                };
            }
            ExprKind::Local(s) => {
                let _ = write!(self.out, "%{}", s.0);
            }
            ExprKind::Input(i) => {
                let name = self
                    .workflow
                    .and_then(|w| w.inputs.get(*i as usize))
                    .map_or("?", |f| f.name.as_str());
                let _ = write!(self.out, "input#{i}({name})");
            }
            ExprKind::Fact(i) => self.fact(*i),
            ExprKind::Field { base, index } => {
                self.expr(base);
                let name = match &base.ty {
                    Ty::Record(id) => self
                        .program
                        .record(*id)
                        .and_then(|r| r.fields.get(*index as usize))
                        .map_or("?", |f| f.name.as_str()),
                    _ => "?",
                };
                let _ = write!(self.out, ".#{index}({name})");
            }
            ExprKind::IfNotNull { value, slot, then } => {
                self.out.push_str("(if-not-null ");
                self.expr(value);
                let _ = write!(self.out, " as %{} then ", slot.0);
                self.expr(then);
                self.out.push(')');
            }
            ExprKind::Elvis { value, otherwise } => {
                self.out.push_str("(elvis ");
                self.expr(value);
                self.out.push(' ');
                self.expr(otherwise);
                self.out.push(')');
            }
            ExprKind::Unary { op, operand, .. } => {
                let _ = write!(self.out, "({op:?} ");
                self.expr(operand);
                self.out.push(')');
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let _ = write!(self.out, "({op:?} ");
                self.expr(lhs);
                self.out.push(' ');
                self.expr(rhs);
                self.out.push(')');
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let op = if matches!(e.kind, ExprKind::And(..)) {
                    "and"
                } else {
                    "or"
                };
                let _ = write!(self.out, "({op} ");
                self.expr(a);
                self.out.push(' ');
                self.expr(b);
                self.out.push(')');
            }
            ExprKind::IntToFloat(x) => {
                self.out.push_str("(IntToFloat ");
                self.expr(x);
                self.out.push(')');
            }
            ExprKind::Range {
                from,
                to,
                inclusive,
                ..
            } => {
                self.out.push_str(if *inclusive {
                    "(range "
                } else {
                    "(range-exclusive "
                });
                self.expr(from);
                self.out.push(' ');
                self.expr(to);
                self.out.push(')');
            }
            ExprKind::Format(parts) => {
                self.out.push_str("(format");
                self.list(parts);
                self.out.push(')');
            }
            ExprKind::List(items) => {
                self.out.push_str("(list");
                self.list(items);
                self.out.push(')');
            }
            ExprKind::Map(entries) => {
                self.out.push_str("(map");
                for (k, v) in entries {
                    self.out.push(' ');
                    self.expr(k);
                    self.out.push_str(": ");
                    self.expr(v);
                }
                self.out.push(')');
            }
            ExprKind::Record { record, fields } => {
                let name = self
                    .program
                    .record(*record)
                    .map_or("?", |r| r.name.as_str());
                let _ = write!(self.out, "({name}");
                for f in fields {
                    self.out.push(' ');
                    match f {
                        Some(f) => self.expr(f),
                        None => self.out.push_str("default"),
                    }
                }
                self.out.push(')');
            }
            ExprKind::EnumValue { enum_id, variant } => {
                let e = self.program.enum_layout(*enum_id);
                let name = e.map_or("?", |e| e.name.as_str());
                let member = crate::value::enum_name(self.program, *enum_id, *variant);
                let _ = write!(self.out, "{name}.{member}");
            }
            ExprKind::Index { list, index, .. } => {
                self.out.push_str("(index ");
                self.expr(list);
                self.out.push(' ');
                self.expr(index);
                self.out.push(')');
            }
            ExprKind::MapGet { map, key } => {
                self.out.push_str("(map-get ");
                self.expr(map);
                self.out.push(' ');
                self.expr(key);
                self.out.push(')');
            }
            ExprKind::Builtin {
                receiver,
                name,
                args,
                ..
            } => {
                let _ = write!(self.out, "({receiver:?}.{name}");
                self.list(args);
                self.out.push(')');
            }
            ExprKind::EnumValueOf { enum_id, name } => {
                let e = self
                    .program
                    .enum_layout(*enum_id)
                    .map_or("?", |e| e.name.as_str());
                let _ = write!(self.out, "({e}.valueOf ");
                self.expr(name);
                self.out.push(')');
            }
            ExprKind::Loop {
                kind,
                source,
                params,
                body,
                ..
            } => {
                let params: Vec<String> = params.iter().map(|p| format!("%{}", p.0)).collect();
                let _ = write!(self.out, "(loop {kind:?} {} in ", params.join(", "));
                self.expr(source);
                self.out.push(' ');
                self.block(body);
                self.out.push(')');
            }
            ExprKind::CallHelper { helper, args, .. } => {
                let name = self
                    .program
                    .helpers
                    .get(helper.0 as usize)
                    .map_or("?", |h| h.name.as_str());
                let _ = write!(self.out, "(call-helper#{} {name}", helper.0);
                for a in args {
                    self.out.push(' ');
                    match a {
                        Some(a) => self.expr(a),
                        None => self.out.push_str("default"),
                    }
                }
                self.out.push(')');
            }
            ExprKind::Call { function, args } => {
                let name = self
                    .program
                    .functions
                    .get(function.0 as usize)
                    .map_or("?", |f| f.name.as_str());
                let _ = write!(self.out, "(pending-call {name}");
                self.list(args);
                self.out.push(')');
            }
            ExprKind::Child { workflow, args } => {
                let name = self
                    .program
                    .workflows
                    .get(workflow.0 as usize)
                    .map_or("?", |w| w.name.as_str());
                let _ = write!(self.out, "(pending-child {name}");
                for a in args {
                    self.out.push(' ');
                    match a {
                        Some(a) => self.expr(a),
                        None => self.out.push_str("default"),
                    }
                }
                self.out.push(')');
            }
            ExprKind::Sleep(d) => {
                self.out.push_str("(pending-sleep ");
                self.expr(d);
                self.out.push(')');
            }
            ExprKind::Settle(calls) => {
                self.out.push_str("(pending-settle ");
                self.expr(calls);
                self.out.push(')');
            }
            ExprKind::Now => self.out.push_str("(now)"),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.out.push_str("(if ");
                self.expr(cond);
                self.out.push(' ');
                self.block(then);
                self.out.push_str(" else ");
                self.block(otherwise);
                self.out.push(')');
            }
            ExprKind::Block(b) => self.block(b),
        }
    }
}
