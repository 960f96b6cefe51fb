//! Serde helpers for the state file: maps whose keys are not strings, and the `&'static str`
//! factor names of MFA requirements.

/// A `HashMap` with tuple keys, saved as a list of `[key, value]` pairs (JSON object keys must
/// be strings). Use with `#[serde(with = "crate::persist::codec::pairs")]`.
pub(crate) mod pairs {
    use std::collections::HashMap;
    use std::hash::Hash;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<K, V, S>(map: &HashMap<K, V>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize,
        V: Serialize,
        S: Serializer,
    {
        serializer.collect_seq(map.iter())
    }

    pub(crate) fn deserialize<'de, K, V, D>(deserializer: D) -> Result<HashMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Hash + Eq,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// A list of MFA factor types (`otp`, `phone`, …) kept as `&'static str`: read back as the
/// tenant's own constants, an unknown name is refused. Use with
/// `#[serde(with = "crate::persist::codec::factor_types")]`.
pub(crate) mod factor_types {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::mfa::policy::FACTOR_TYPES;

    pub(crate) fn serialize<S: Serializer>(
        factors: &[&'static str],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(factors.iter())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<&'static str>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .into_iter()
            .map(|name| {
                FACTOR_TYPES
                    .iter()
                    .copied()
                    .find(|known| *known == name)
                    .ok_or_else(|| D::Error::custom(format!("unknown MFA factor {name:?}")))
            })
            .collect()
    }
}
