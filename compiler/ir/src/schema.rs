//! JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) of Emx types, following
//! exactly how [`crate::json::from_json`] reads values: the schema of a type accepts
//! the JSON documents the runtime accepts for it (inputs, facts, signal arguments)
//! and refuses the others, so that a client generated from it sends what the API
//! takes.
//!
//! Records and enums become named definitions referred to by `$ref` (records may
//! refer to themselves through optional fields and lists); [`Schemas`] collects them,
//! under `$defs` for a standalone schema ([`Schemas::standalone`]) or under an
//! OpenAPI document's `components/schemas`.

use std::collections::BTreeMap;

use crate::json::to_json;
use crate::{EnumId, FieldLayout, Program, RecordId, Ty};
use serde_json::{Map, Value as Json, json};

/// Where `$ref`s point: `#/$defs/` for a standalone schema, `#/components/schemas/`
/// in an OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefStyle {
    Defs,
    Components,
}

impl RefStyle {
    fn prefix(self) -> &'static str {
        match self {
            RefStyle::Defs => "#/$defs/",
            RefStyle::Components => "#/components/schemas/",
        }
    }
}

/// Builds schemas of a program's types, collecting the definitions of the records
/// and enums they refer to.
#[derive(Debug)]
pub struct Schemas<'p> {
    program: &'p Program,
    style: RefStyle,
    defs: BTreeMap<String, Json>,
    /// Names taken by other definitions of the document.
    reserved: Vec<String>,
}

impl<'p> Schemas<'p> {
    pub fn new(program: &'p Program, style: RefStyle) -> Self {
        Schemas {
            program,
            style,
            defs: BTreeMap::new(),
            reserved: Vec::new(),
        }
    }

    /// Keeps `names` (other definitions of the same document) free: a record or enum
    /// of one of these names is defined as `module.Name`.
    pub fn reserving(mut self, names: impl IntoIterator<Item = String>) -> Self {
        self.reserved.extend(names);
        self
    }

    /// The definitions collected so far, by name.
    pub fn into_definitions(self) -> BTreeMap<String, Json> {
        self.defs
    }

    /// The schema of `ty`.
    pub fn of(&mut self, ty: &Ty) -> Json {
        match ty {
            Ty::Int => json!({"type": "integer", "format": "int64"}),
            Ty::Float => json!({"type": "number", "format": "double"}),
            Ty::Bool => json!({"type": "boolean"}),
            Ty::String => json!({"type": "string"}),
            Ty::Duration => json!({
                "type": "integer",
                "format": "int64",
                "description": "a Duration, in milliseconds",
            }),
            Ty::Time => json!({"type": "string", "format": "date-time"}),
            // `Json` takes anything; `Call<T>`, `Unit` and `Never` never cross the API.
            Ty::Json | Ty::Call(_) | Ty::Unit | Ty::Never => json!({}),
            Ty::Null => json!({"type": "null"}),
            Ty::List(element) => json!({"type": "array", "items": self.of(element)}),
            Ty::Map(key, value) => {
                let mut schema = json!({"type": "object", "additionalProperties": self.of(value)});
                if let Some(names) = self.key_names(key) {
                    schema["propertyNames"] = names;
                }
                schema
            }
            Ty::Optional(inner) => match &**inner {
                // These already take null.
                Ty::Json | Ty::Optional(_) | Ty::Null => self.of(inner),
                other => json!({"anyOf": [self.of(other), {"type": "null"}]}),
            },
            Ty::Record(id) => self.record(*id),
            Ty::Enum(id) => self.enumeration(*id),
        }
    }

    /// The schema of an object holding `fields` (a record's, a workflow's input, a
    /// signal's parameters): every field by its type; those without a default that
    /// are not optional are required; no other member is allowed.
    pub fn object(&mut self, fields: &[FieldLayout]) -> Json {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in fields {
            let mut schema = self.of(&field.ty);
            match &field.default {
                Some(default) => {
                    // A default that needs a helper at run time is left undocumented.
                    if let Ok(value) = crate::interp::eval_const(self.program, default) {
                        schema = with_default(schema, to_json(self.program, &value));
                    }
                }
                None if matches!(field.ty, Ty::Optional(_)) => {}
                None => required.push(Json::String(field.name.clone())),
            }
            properties.insert(field.name.clone(), schema);
        }
        let mut schema = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        if !required.is_empty() {
            schema["required"] = Json::Array(required);
        }
        schema
    }

    /// `schema` with the definitions it refers to under `$defs`, so that it stands
    /// alone ([`RefStyle::Defs`] only).
    pub fn standalone(&self, schema: Json) -> Json {
        let mut wanted = Vec::new();
        collect_refs(&schema, self.style.prefix(), &mut wanted);
        let mut defs = Map::new();
        while let Some(name) = wanted.pop() {
            if defs.contains_key(&name) {
                continue;
            }
            if let Some(def) = self.defs.get(&name) {
                collect_refs(def, self.style.prefix(), &mut wanted);
                defs.insert(name, def.clone());
            }
        }
        match schema {
            Json::Object(mut fields) if !defs.is_empty() => {
                fields.insert("$defs".to_string(), Json::Object(defs));
                Json::Object(fields)
            }
            other => other,
        }
    }

    /// What a map's keys may be, as `propertyNames`; `None` for any string.
    fn key_names(&mut self, key: &Ty) -> Option<Json> {
        match key {
            Ty::String => None,
            // `str::parse::<i64>`: an optional sign and decimal digits.
            Ty::Int => Some(json!({"pattern": "^[+-]?[0-9]+$"})),
            // Other keys are read from the key's text as a JSON string: enums and
            // times can be, other types never (only an empty map is accepted).
            Ty::Enum(_) | Ty::Time => Some(self.of(key)),
            _ => Some(json!(false)),
        }
    }

    fn record(&mut self, id: RecordId) -> Json {
        let Some(layout) = self.program.record(id) else {
            return json!({});
        };
        let name = self.name_of(&layout.module, &layout.name);
        if !self.defs.contains_key(&name) {
            // Reserved first, so that a record that refers to itself stops here.
            self.defs.insert(name.clone(), json!({}));
            let mut schema = self.object(&layout.fields);
            schema["title"] = json!(layout.name);
            self.defs.insert(name.clone(), schema);
        }
        self.reference(&name)
    }

    fn enumeration(&mut self, id: EnumId) -> Json {
        let Some(layout) = self.program.enum_layout(id) else {
            return json!({});
        };
        let name = self.name_of(&layout.module, &layout.name);
        self.defs.entry(name.clone()).or_insert_with(
            || json!({"title": layout.name, "type": "string", "enum": layout.variants}),
        );
        self.reference(&name)
    }

    fn reference(&self, name: &str) -> Json {
        json!({"$ref": format!("{}{name}", self.style.prefix())})
    }

    /// A declaration's definition name: its own name, or `module.Name` when another
    /// record or enum of the program has the same name, or the name is reserved.
    fn name_of(&self, module: &str, name: &str) -> String {
        let records = self.program.records.iter().map(|r| &r.name);
        let enums = self.program.enums.iter().map(|e| &e.name);
        if records.chain(enums).filter(|n| *n == name).count() > 1
            || self.reserved.iter().any(|r| r == name)
        {
            format!("{module}.{name}")
        } else {
            name.to_string()
        }
    }
}

/// The schema of `ty`, standing alone (its records and enums under `$defs`).
pub fn schema_of(program: &Program, ty: &Ty) -> Json {
    let mut schemas = Schemas::new(program, RefStyle::Defs);
    let schema = schemas.of(ty);
    schemas.standalone(schema)
}

/// `schema` with a `default`; a `$ref` is wrapped, as its siblings would be ignored
/// by older readers.
fn with_default(schema: Json, default: Json) -> Json {
    match schema {
        Json::Object(mut fields) if !fields.contains_key("$ref") => {
            fields.insert("default".to_string(), default);
            Json::Object(fields)
        }
        other => json!({"allOf": [other], "default": default}),
    }
}

/// The definition names `schema` refers to with `prefix`.
fn collect_refs(schema: &Json, prefix: &str, out: &mut Vec<String>) {
    match schema {
        Json::Object(fields) => {
            for (key, value) in fields {
                match (key.as_str(), value) {
                    ("$ref", Json::String(target)) => {
                        if let Some(name) = target.strip_prefix(prefix) {
                            out.push(name.to_string());
                        }
                    }
                    _ => collect_refs(value, prefix, out),
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|i| collect_refs(i, prefix, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EnumLayout, Expr, ExprKind, RecordLayout};

    /// `enum Codec { H264, HEVC }`, `type Rendition { codec: Codec, height: Int = 720,
    /// label: String? }` and `type Folder { name: String, parent: Folder? }`.
    fn program() -> Program {
        let field = |name: &str, ty: Ty| FieldLayout {
            name: name.to_string(),
            ty,
            default: None,
        };
        Program {
            enums: vec![EnumLayout {
                module: "media".to_string(),
                name: "Codec".to_string(),
                variants: vec!["H264".to_string(), "HEVC".to_string()],
            }],
            records: vec![
                RecordLayout {
                    module: "media".to_string(),
                    name: "Rendition".to_string(),
                    fields: vec![
                        field("codec", Ty::Enum(EnumId(0))),
                        FieldLayout {
                            default: Some(Expr::new(
                                ExprKind::Const(crate::Const::Int(720)),
                                Ty::Int,
                            )),
                            ..field("height", Ty::Int)
                        },
                        field("label", Ty::Optional(Box::new(Ty::String))),
                    ],
                },
                RecordLayout {
                    module: "main".to_string(),
                    name: "Folder".to_string(),
                    fields: vec![
                        field("name", Ty::String),
                        field("parent", Ty::Optional(Box::new(Ty::Record(RecordId(1))))),
                    ],
                },
            ],
            ..Program::default()
        }
    }

    #[test]
    fn scalars_follow_the_json_the_api_reads() {
        let program = program();
        assert_eq!(
            schema_of(&program, &Ty::Int),
            json!({"type": "integer", "format": "int64"})
        );
        assert_eq!(schema_of(&program, &Ty::Time)["format"], "date-time");
        assert_eq!(schema_of(&program, &Ty::Duration)["type"], "integer");
        assert_eq!(schema_of(&program, &Ty::Json), json!({}));
        assert_eq!(
            schema_of(&program, &Ty::Optional(Box::new(Ty::Bool))),
            json!({"anyOf": [{"type": "boolean"}, {"type": "null"}]})
        );
        assert_eq!(
            schema_of(
                &program,
                &Ty::Map(Box::new(Ty::Int), Box::new(Ty::List(Box::new(Ty::Float))))
            ),
            json!({
                "type": "object",
                "propertyNames": {"pattern": "^[+-]?[0-9]+$"},
                "additionalProperties": {"type": "array", "items": {"type": "number", "format": "double"}},
            })
        );
    }

    #[test]
    fn records_and_enums_are_definitions_with_required_fields_and_defaults() {
        let program = program();
        let schema = schema_of(&program, &Ty::List(Box::new(Ty::Record(RecordId(0)))));
        assert_eq!(
            schema,
            json!({
                "type": "array",
                "items": {"$ref": "#/$defs/Rendition"},
                "$defs": {
                    "Rendition": {
                        "title": "Rendition",
                        "type": "object",
                        "properties": {
                            "codec": {"$ref": "#/$defs/Codec"},
                            "height": {"type": "integer", "format": "int64", "default": 720},
                            "label": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        },
                        "required": ["codec"],
                        "additionalProperties": false,
                    },
                    "Codec": {"title": "Codec", "type": "string", "enum": ["H264", "HEVC"]},
                },
            })
        );
    }

    #[test]
    fn a_reserved_name_is_qualified_by_its_module() {
        let program = program();
        let mut schemas =
            Schemas::new(&program, RefStyle::Components).reserving(["Rendition".to_string()]);
        assert_eq!(
            schemas.of(&Ty::Record(RecordId(0))),
            json!({"$ref": "#/components/schemas/media.Rendition"})
        );
        let names: Vec<String> = schemas.into_definitions().into_keys().collect();
        assert_eq!(names, ["Codec", "media.Rendition"]);
    }

    #[test]
    fn a_record_that_refers_to_itself_is_one_definition() {
        let program = program();
        let schema = schema_of(&program, &Ty::Record(RecordId(1)));
        assert_eq!(schema["$ref"], "#/$defs/Folder");
        assert_eq!(
            schema["$defs"]["Folder"]["properties"]["parent"],
            json!({"anyOf": [{"$ref": "#/$defs/Folder"}, {"type": "null"}]})
        );
    }
}
