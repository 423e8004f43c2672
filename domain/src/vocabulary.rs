//! Vocabularies: closed sets of names that rows store and the API speaks (statuses, kinds,
//! roles). Each is declared once with [`vocabulary!`], which gives the enum its stored
//! names, `ALL`, `as_str`, `Display`, `FromStr` and the sea-orm value type, so a row's
//! column arrives typed and an unknown stored name is a read error, not a string to
//! re-parse in every layer.

use std::fmt;

/// A name that is not in its vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// What the name should have named, e.g. `order status`.
    pub what: &'static str,
    /// The name.
    pub name: String,
    /// The names of the vocabulary.
    pub known: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.what, self.name)?;
        if let Some((last, rest)) = self.known.split_last() {
            match rest {
                [] => write!(f, " ({last})")?,
                _ => write!(f, " ({} or {last})", rest.join(", "))?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for UnknownName {}

/// Declares a vocabulary: an enum whose variants each have one stored name.
///
/// ```
/// domain::vocabulary! {
///     /// How bright a lamp is.
///     pub enum Brightness as "brightness" {
///         /// Off.
///         Off = "OFF",
///         /// On.
///         On = "ON",
///     }
/// }
/// assert_eq!("ON".parse::<Brightness>(), Ok(Brightness::On));
/// assert_eq!(Brightness::ALL.len(), 2);
/// ```
#[macro_export]
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident as $what:literal {
            $( $(#[$variant_meta:meta])* $variant:ident = $stored:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::DeriveValueType)]
        #[sea_orm(value_type = "String")]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant ),+
        }

        impl $name {
            /// Every name of the vocabulary, in declaration order.
            pub const ALL: [Self; [$($stored),+].len()] = [$(Self::$variant),+];

            /// The stored (and wire) name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $stored ),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocabulary::UnknownName;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| $crate::vocabulary::UnknownName {
                        what: $what,
                        name: text.to_owned(),
                        known: &[$($stored),+],
                    })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::vocabulary! {
        /// A test vocabulary.
        enum Colour as "colour" {
            /// Red.
            Red = "RED",
            /// Green.
            Green = "GREEN",
        }
    }

    #[test]
    fn names_round_trip_and_unknown_ones_say_what_they_missed() {
        for colour in Colour::ALL {
            assert_eq!(colour.as_str().parse::<Colour>(), Ok(colour));
            assert_eq!(colour.to_string(), colour.as_str());
        }
        let unknown = "BLUE".parse::<Colour>().unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unknown colour \"BLUE\" (RED or GREEN)"
        );
    }
}
