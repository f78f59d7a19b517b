//! How the runtime's closed sets of names are spelled at its edges. Instance statuses
//! ([`crate::engine::Status`]), call error kinds ([`crate::engine::CallErrorKind`]),
//! history kinds ([`crate::engine::HistoryKind`]) and queue message states
//! ([`crate::store::MessageState`]) are enums everywhere inside the runtime; their
//! strings exist only where a value crosses into text: SQL columns, JSON (serde goes
//! through [`named_enum!`]'s `as_str` and `FromStr`), query strings and messages for
//! people. A string that names no variant is refused with an [`UnknownName`].

/// A string that names no variant of one of the runtime's enums.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; expected one of {}", expected.join(", "))]
pub struct UnknownName {
    /// What the string was meant to name: `status`, `error kind`, ...
    pub what: &'static str,
    /// The string as given.
    pub value: String,
    /// The names that would have been accepted, in declaration order.
    pub expected: &'static [&'static str],
}

/// An enum of unit variants, each spelled by exactly one string: the enum with
/// `ALL` (its variants in declaration order), `NAMES` (their strings, in the same
/// order), `as_str`, `FromStr` (refusing any other string with an [`UnknownName`]
/// that says `what` was meant), `Display`, and serde implementations that write and
/// read the same strings. The variant ↔ string table is written once, here.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $text:literal,
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $(
                $(#[$variant_meta])*
                $variant,
            )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The string of each variant of [`Self::ALL`], in the same order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// How this variant is spelled in JSON, SQL and text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;

            fn from_str(text: &str) -> ::std::result::Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::names::UnknownName {
                        what: $what,
                        value: text.to_string(),
                        expected: Self::NAMES,
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let text = <::std::string::String as ::serde::Deserialize>::deserialize(
                    deserializer,
                )?;
                text.parse().map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

pub(crate) use named_enum;

#[cfg(test)]
pub(crate) mod tests {
    use super::UnknownName;
    use std::fmt::Debug;
    use std::str::FromStr;

    /// Checks that every variant of `all` round-trips through its string (`as_str`
    /// and `FromStr`, and serde), that the strings are `names` exactly, and that
    /// strings naming no variant — another case, a blank, a near miss — are refused
    /// with an [`UnknownName`] saying `what` was meant.
    pub(crate) fn round_trip<T>(
        all: &[T],
        names: &[&str],
        as_str: fn(T) -> &'static str,
        what: &str,
        bogus: &[&str],
    ) where
        T: Copy + Debug + PartialEq + FromStr<Err = UnknownName> + serde::Serialize,
        T: serde::de::DeserializeOwned,
    {
        let spelled: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
        assert_eq!(spelled, names);
        for &variant in all {
            let text = as_str(variant);
            assert_eq!(text.parse::<T>(), Ok(variant), "{text}");
            let json = serde_json::to_value(variant).unwrap();
            assert_eq!(json, serde_json::Value::String(text.to_string()));
            assert_eq!(serde_json::from_value::<T>(json).unwrap(), variant);
            let other_case = if text.chars().any(char::is_lowercase) {
                text.to_uppercase()
            } else {
                text.to_lowercase()
            };
            assert!(other_case.parse::<T>().is_err(), "{other_case}");
        }
        for &text in bogus.iter().chain(&["", " "]) {
            let error = text.parse::<T>().unwrap_err();
            assert_eq!(error.what, what);
            assert_eq!(error.value, text);
            assert_eq!(error.expected, names);
            assert!(
                error.to_string().starts_with(&format!("unknown {what} ")),
                "{error}"
            );
            let json = serde_json::Value::String(text.to_string());
            assert!(serde_json::from_value::<T>(json).is_err(), "{text}");
        }
        assert!(serde_json::from_value::<T>(serde_json::json!(1)).is_err());
    }

    #[test]
    fn unknown_names_say_what_was_expected() {
        let error = UnknownName {
            what: "status",
            value: "BOGUS".to_string(),
            expected: &["RUNNING", "STALLED"],
        };
        assert_eq!(
            error.to_string(),
            "unknown status \"BOGUS\"; expected one of RUNNING, STALLED"
        );
    }
}
