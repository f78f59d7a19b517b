//! The one table of diagnostic codes. A code never changes meaning once released;
//! `docs/diagnostics.md` documents each and a test keeps the two in step.

use crate::Severity;

/// A stable diagnostic code such as `E0201`, with its kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code {
    pub code: &'static str,
    pub name: &'static str,
}

impl Code {
    /// Errors are `E…`, warnings `W…`.
    pub fn severity(self) -> Severity {
        if self.code.starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    /// The table entry for this code.
    pub fn info(self) -> Option<&'static CodeInfo> {
        CODES.iter().find(|info| info.code == self)
    }
}

/// A code with the one-line summary shown in SARIF rule metadata.
#[derive(Debug)]
pub struct CodeInfo {
    pub code: Code,
    pub summary: &'static str,
}

macro_rules! codes {
    ($($ident:ident = $code:literal, $name:literal, $summary:literal;)*) => {
        impl Code {
            $(pub const $ident: Code = Code { code: $code, name: $name };)*
        }
        /// Every code the compiler can emit, in order.
        pub static CODES: &[CodeInfo] = &[
            $(CodeInfo { code: Code::$ident, summary: $summary },)*
        ];
    };
}

codes! {
    // Syntax.
    SYNTAX_ERROR = "E0001", "syntax-error", "The text does not follow Emx's grammar.";
    INVALID_LITERAL = "E0002", "invalid-literal", "A number, string escape or duration literal is malformed or out of range.";
    NESTED_TOO_DEEPLY = "E0003", "nested-too-deeply", "Expressions, blocks or types nest deeper than the language's limit of 48 levels.";

    // Projects, modules and names.
    UNKNOWN_MODULE = "E0101", "unknown-module", "An import names a module that is not in the project or the standard library.";
    UNKNOWN_IMPORT = "E0102", "unknown-import", "An import lists a name that the imported module does not declare.";
    UNKNOWN_NAME = "E0103", "unknown-name", "A name is used that is not declared in scope.";
    UNKNOWN_TYPE = "E0104", "unknown-type", "A type name is not declared or imported.";
    DUPLICATE_DECLARATION = "E0105", "duplicate-declaration", "Two declarations in one scope have the same name.";
    DUPLICATE_WORKFLOW = "E0106", "duplicate-workflow", "Two workflows in the project have the same name; workflow names are the API and must be unique.";
    IMPORT_CYCLE = "E0107", "import-cycle", "A module imports itself.";
    UNKNOWN_FIELD = "E0108", "unknown-field", "A record has no field of that name.";
    UNKNOWN_METHOD = "E0109", "unknown-method", "A type has no method of that name.";
    UNKNOWN_ENUM_MEMBER = "E0110", "unknown-enum-member", "An enum has no member of that name.";
    UNKNOWN_RULE = "E0111", "unknown-rule", "A test names a rule that the workflow does not have.";
    UNKNOWN_SIGNAL = "E0112", "unknown-signal", "A signal is sent that the workflow does not declare.";
    NOT_A_WORKFLOW = "E0113", "not-a-workflow", "A test starts something that is not a workflow.";
    DUPLICATE_CLAUSE = "E0114", "duplicate-clause", "A rule or function states the same clause or setting twice.";
    IMPORT_SHADOWS = "E0115", "import-conflict", "An imported name collides with another declaration or import.";
    RECURSIVE_RECORD = "E0116", "recursive-record", "A record contains itself through required fields, so no value of it can be built.";

    // Types.
    TYPE_MISMATCH = "E0201", "type-mismatch", "A value's type is not the type expected where it is used.";
    NULLABLE_VALUE = "E0202", "nullable-value", "An optional value is used where a non-null value is needed.";
    NON_BOOL_CONDITION = "E0203", "non-bool-condition", "A condition is not a `Bool`; Emx has no truthiness.";
    ARGUMENT_COUNT = "E0204", "argument-count", "A call has too many or too few arguments.";
    UNKNOWN_ARGUMENT = "E0205", "unknown-argument", "A named argument does not match any parameter.";
    MISSING_FIELD = "E0206", "missing-field", "A record or workflow input is built without one of its required fields.";
    CANNOT_INFER = "E0207", "cannot-infer", "A type cannot be inferred: an empty literal with no expected type, or a local initialised with `null`.";
    INVALID_OPERANDS = "E0208", "invalid-operands", "An operator is applied to values of types it does not accept.";
    NULL_NOT_ALLOWED = "E0209", "null-not-allowed", "`null` is used where the expected type is not optional.";
    INVALID_MAP_KEY = "E0210", "invalid-map-key", "A map key type is not `String`, `Int` or an enum.";
    NOT_CALLABLE = "E0211", "not-callable", "Something that is not a helper, function, record or method is called.";
    CLOSURE_MISUSE = "E0212", "closure-misuse", "A closure is given where none is accepted, or with the wrong number of parameters.";
    CALL_MISUSE = "E0213", "call-misuse", "A `Call<T>` is inspected, or used anywhere but as the action's value.";
    INVALID_ASSIGNMENT = "E0214", "invalid-assignment", "The left side of an assignment is not something that can be assigned.";
    MISSING_VALUE = "E0215", "missing-value", "A value is needed but none is given: a block or `if` without `else` used as a value, a fact without an initial value, a bare `return` in a helper.";
    INVALID_TYPE_ARGUMENTS = "E0216", "invalid-type-arguments", "A type is given the wrong number of type arguments.";

    // Contexts of section 5.
    FUNCTION_CALL_OUTSIDE_ACTION = "E0301", "function-call-outside-action", "An external function, a child workflow, `sleep` or `settle` is called outside a rule's `action`.";
    FACT_ASSIGNMENT_OUTSIDE_HANDLER = "E0302", "fact-assignment-outside-handler", "A fact is assigned outside `reaction`, `error` or a `signal` handler.";
    RETRY_OUTSIDE_ERROR = "E0303", "retry-outside-error", "`retry` is called outside an `error` block.";
    FINISH_IN_MATCH_OR_ACTION = "E0304", "finish-outside-handler", "`complete` or `fail` is called in `match`, `action`, or outside a workflow's handlers.";
    MATCH_NOT_BOOL = "E0305", "match-not-bool", "A rule's `match` does not evaluate to `Bool`.";
    MISSING_CLAUSE = "E0306", "missing-clause", "A rule lacks its `match` or `action`, or a function its `command`.";
    INVALID_SETTING = "E0307", "invalid-setting", "A function setting or rule clause has a value of the wrong type or range.";
    INPUT_ASSIGNMENT = "E0308", "input-assignment", "An input is assigned; inputs are read-only.";
    RETURN_OUTSIDE_DEF = "E0309", "return-outside-def", "`return` is used outside a `def`.";
    EFFECT_OUTSIDE_HANDLER = "E0310", "effect-outside-handler", "`log` is used where effects are not allowed.";
    TEST_ORDER = "E0311", "test-statement-order", "A test statement needs `start` to come first, or a second `start` is given.";
    UNKNOWN_FUNCTION_MOCK = "E0312", "unknown-mock", "A mock names something that is not an external function, or has the wrong parameters.";
    TEST_STATEMENT = "E0313", "test-statement", "A test holds a statement other than `start`, `mock`, `run`, `signal`, `advance` and `assert`.";
    INSTANCE_OUTSIDE_ASSERT = "E0314", "instance-outside-assert", "A test reads the instance (an input, a fact, `status`, `output` or `fired`) outside an `assert`.";
    CONSTANT_FAILS = "E0315", "constant-fails", "A default or setting, computed before any instance exists, fails: division by zero, an overflow, an index out of range.";
    NOW_OUTSIDE_COMPARISON = "E0316", "now-outside-comparison", "`now()` is used in a `match` other than as one side of a comparison `<`, `<=`, `>` or `>=` with a `Time` that does not call `now()`.";
    RETRY_MISSING_ATTEMPTS = "E0320", "retry-missing-attempts", "A function's `retry` policy does not say how many `attempts` to make.";
    RETRY_UNKNOWN_NAME = "E0321", "retry-unknown-name", "A `retry` policy names an argument other than `attempts`, `delay`, `factor`, `max` and `on`, gives one without its name, or lists an error kind that does not exist.";
    RETRY_ARGUMENT_TYPE = "E0322", "retry-argument-type", "A `retry` argument has the wrong type: `attempts` is an `Int`, `delay` and `max` are `Duration`s, `factor` a number, `on` a list of error kinds.";
    RETRY_OUT_OF_RANGE = "E0323", "retry-out-of-range", "A `retry` argument is out of range: `attempts` below 1, a negative `delay` or `max`, a `factor` below 1.0, or an empty `on`.";
    INVALID_CRON = "E0330", "invalid-cron", "A schedule's `cron` expression is malformed: not five fields, a value out of its field's range, a bad range, list or step, or no date it could ever match.";
    SCHEDULE_START = "E0331", "schedule-start", "A schedule's `start` block does not end with a start of a declared workflow, `Workflow(input: value, …)`.";
    INVALID_SCHEDULE = "E0332", "invalid-schedule", "A schedule has no `cron` or `every`, has both, has an `every` that is not a positive duration of at least one second, an `overlap` other than `skip` or `allow`, or no `start`.";
    DUPLICATE_SCHEDULE = "E0333", "duplicate-schedule", "Two schedules in the project have the same name; schedule names are the runtime's API and must be unique.";
    CHILD_INPUT_BY_POSITION = "E0340", "child-input-by-position", "A workflow called as a child is given an input by position; its inputs are named arguments.";
    WORKFLOW_CYCLE = "E0341", "workflow-cycle", "A workflow calls itself as a child, directly or through other workflows.";

    // Warnings of section 9.
    UNUSED_FACT = "W0001", "unused-fact", "A fact is never read or written.";
    FACT_NEVER_WRITTEN = "W0002", "fact-never-written", "A fact is read but no reaction, error handler or signal ever assigns it.";
    UNUSED_IMPORT = "W0003", "unused-import", "An imported name or module is never used.";
    UNUSED_LOCAL = "W0004", "unused-local", "A local is declared but never read.";
    UNREACHABLE_ERROR = "W0005", "unreachable-error", "An `error` block can never run because the rule's action calls no function.";
    UNKNOWN_POOL = "W0006", "unknown-pool", "A function names a pool that `cosmos.toml` does not declare, so it runs with the default limits.";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen_codes = HashSet::new();
        let mut seen_names = HashSet::new();
        for info in CODES {
            assert!(
                seen_codes.insert(info.code.code),
                "{} twice",
                info.code.code
            );
            assert!(
                seen_names.insert(info.code.name),
                "{} twice",
                info.code.name
            );
            let code = info.code.code;
            assert!(code.len() == 5 && (code.starts_with('E') || code.starts_with('W')));
            assert!(code[1..].chars().all(|c| c.is_ascii_digit()));
            assert!(
                info.code
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-')
            );
        }
    }
}
