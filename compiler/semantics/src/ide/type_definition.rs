//! Go to type definition: from a fact, input, parameter, field or local (declared or
//! used), or any expression of a body, to the declaration of its record or enum type.
//! An optional, a list, a map's values and a pending call lead to the type inside.

use super::Target;
use super::hover::local_type;
use super::locate::{Hit, decl_target, find, recorded_type};
use crate::Analysis;
use crate::bodies::check_body;
use crate::body::{bodies, body_base, body_extent};
use crate::db::{Db, SourceFile, parse};
use crate::scope::module_scope;
use crate::signatures::resolve_type;
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::FileId;

impl Analysis {
    /// Where the record or enum type of the thing at `offset` is declared.
    pub fn type_definition(&self, file: FileId, offset: u32) -> Option<Target> {
        let source = self.files.get(&file).copied()?;
        // A name's own type first; else (a callee has none) the expression around it.
        let key = named_type(&self.db, source, offset)
            .as_ref()
            .and_then(declared)
            .or_else(|| innermost(&self.db, source, offset))?;
        decl_target(&self.db, &key)
    }
}

/// The record or enum a type is made of.
fn declared(ty: &Type) -> Option<DeclKey> {
    match ty {
        Type::Record(key) | Type::Enum(key) => Some(key.clone()),
        Type::Optional(inner) | Type::List(inner) | Type::Call(inner) | Type::Map(_, inner) => {
            declared(inner)
        }
        _ => None,
    }
}

/// The type of the name at `offset`: a declaration's, or the recorded type of a use.
fn named_type(db: &dyn Db, file: SourceFile, offset: u32) -> Option<Type> {
    let module = parse(db, file).module.clone();
    match find(&module, offset)? {
        (Hit::FieldDecl(field, _), _) => Some(resolve_type(
            db,
            module_scope(db, file),
            &field.ty,
            &mut Vec::new(),
        )),
        (Hit::LocalDecl(ident, body), _) => local_type(db, file, body, ident),
        (Hit::Name { ident, body, .. }, _) => recorded_type(db, file, body, ident.span),
        (Hit::Member { name, body, .. }, _) => recorded_type(db, file, body, name.span),
        _ => None,
    }
}

/// The record or enum of the innermost expression at `offset` in a body that has one.
fn innermost(db: &dyn Db, file: SourceFile, offset: u32) -> Option<DeclKey> {
    let module = &parse(db, file).module;
    let path = bodies(module)
        .into_iter()
        .filter(|p| body_extent(db, file, *p).is_some_and(|s| s.contains(offset)))
        .min_by_key(|p| body_extent(db, file, *p).map_or(u32::MAX, |s| s.len()))?;
    let relative = offset.checked_sub(body_base(db, file, path))?;
    check_body(db, file, path)
        .types
        .iter()
        .filter(|(s, _)| s.start <= relative && relative <= s.end)
        .filter_map(|(s, ty)| Some((s, declared(ty)?)))
        .min_by_key(|(s, _)| s.len())
        .map(|(_, key)| key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const TYPES: &str = "type Probe { width: Int, codec: Codec }\nenum Codec { H264, HEVC }\n";
    const MAIN: &str = "import media.types { Probe, Codec }\n\nfunction probe(url: String): Probe {\n    command \"probe\"\n}\n\nworkflow W {\n    input { source: String }\n    facts {\n        found: Probe?\n        all: List<Probe> = []\n    }\n    rule \"r\" {\n        match { found == null }\n        action { probe(url: source) }\n        reaction {\n            def p = result\n            found = p\n            log(p.codec.name())\n        }\n    }\n}\n";

    fn target_of(needle: &str, delta: u32) -> Option<(FileId, String)> {
        let mut analysis = Analysis::new();
        analysis.set_file(FileId(0), "media.types", TYPES.to_string());
        analysis.set_file(FileId(1), "main", MAIN.to_string());
        let at = MAIN.find(needle).unwrap() as u32 + delta;
        let target = analysis.type_definition(FileId(1), at)?;
        Some((target.file, TYPES[target.span.range()].to_string()))
    }

    #[test]
    fn facts_locals_and_expressions_lead_to_their_type() {
        let probe = Some((FileId(0), "Probe".to_string()));
        let codec = Some((FileId(0), "Codec".to_string()));
        // A fact's declaration, optional or in a list.
        assert_eq!(target_of("found: Probe?", 0), probe);
        assert_eq!(target_of("all: List", 0), probe);
        // A local's declaration and use, a fact's use, a field.
        assert_eq!(target_of("p = result", 0), probe);
        assert_eq!(target_of("found = p", 8), probe);
        assert_eq!(target_of("found = p", 0), probe);
        assert_eq!(target_of("codec.name", 0), codec);
        // A call of a function: the type it returns.
        assert_eq!(target_of("probe(url: source", 2), probe);
        // An input of a built-in type has none.
        assert_eq!(target_of("source: String", 0), None);
    }
}
