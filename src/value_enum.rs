//! `Display` and `FromStr` for the enums the CLI takes as values, from their
//! `clap::ValueEnum` names: each name is written once (the derive), and a bad
//! value is one line that lists the known ones, e.g. `unknown scenario "x";
//! known: ping, metadata, command`.
//!
//! The CLI parses these with `FromStr` (`value_parser = T::from_str`) rather
//! than clap's `ValueEnum` parser, so its errors and `--help` stay one line.

/// Implements `Display` (the value's name) and `FromStr` (`Err` is the one
/// line above) for each `clap::ValueEnum` type, naming it `what`.
macro_rules! value_enum_text {
    ($($t:ty => $what:literal),* $(,)?) => {$(
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match ::clap::ValueEnum::to_possible_value(self) {
                    Some(value) => f.write_str(value.get_name()),
                    None => Ok(()),
                }
            }
        }

        impl ::std::str::FromStr for $t {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                <$t as ::clap::ValueEnum>::from_str(s, false)
                    .map_err(|_| $crate::value_enum::unknown::<$t>($what, s, &[]))
            }
        }
    )*};
}

/// `unknown <what> "<s>"; known: <T's names>, <more>`.
pub(crate) fn unknown<T: clap::ValueEnum>(what: &str, s: &str, more: &[&str]) -> String {
    let mut known: Vec<String> = T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|p| p.get_name().to_owned())
        .collect();
    known.extend(more.iter().map(|m| (*m).to_owned()));
    format!("unknown {what} {s:?}; known: {}", known.join(", "))
}
