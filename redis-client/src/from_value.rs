//! Typed conversions of replies.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use crate::error::{Error, Result};
use crate::value::Value;

/// Types a reply converts into.
pub trait FromValue: Sized {
    /// Converts, or says what was expected and what came.
    fn from_value(v: Value) -> Result<Self>;
}

fn type_err<T>(expected: &'static str, got: &Value) -> Result<T> {
    let mut shown = format!("{got:?}");
    if shown.len() > 80 {
        shown.truncate(77);
        shown.push_str("...");
    }
    Err(match got {
        Value::Error(e) => Error::Server(e.clone()),
        _ => Error::Type {
            expected,
            got: shown,
        },
    })
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Self> {
        Ok(v)
    }
}

impl FromValue for () {
    fn from_value(_: Value) -> Result<Self> {
        Ok(())
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Bulk(b) => Ok(b),
            Value::Simple(s) => Ok(s.into_owned().into_bytes()),
            Value::Verbatim { text, .. } => Ok(text.into_bytes()),
            Value::Int(i) => Ok(i.to_string().into_bytes()),
            other => type_err("bytes", &other),
        }
    }
}

impl FromValue for String {
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Bulk(b) => String::from_utf8(b).map_err(|e| Error::Type {
                expected: "UTF-8 string",
                got: format!("{} bytes of binary data", e.as_bytes().len()),
            }),
            Value::Simple(s) => Ok(s.into_owned()),
            Value::Verbatim { text, .. } => Ok(text),
            Value::Int(i) => Ok(i.to_string()),
            Value::Double(d) => Ok(d.to_string()),
            Value::BigNumber(n) => Ok(n),
            other => type_err("string", &other),
        }
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<Self> {
                let n: Option<$t> = match &v {
                    Value::Int(i) => <$t>::try_from(*i).ok(),
                    Value::Bulk(b) => std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()),
                    Value::Simple(s) => s.parse().ok(),
                    Value::Boolean(b) => Some(*b as $t),
                    _ => None,
                };
                match n {
                    Some(n) => Ok(n),
                    None => type_err(stringify!($t), &v),
                }
            }
        }
    )*};
}
int_from_value!(i8, i16, i32, i64, isize, u16, u32, u64, usize);

impl FromValue for f64 {
    fn from_value(v: Value) -> Result<Self> {
        let n = match &v {
            Value::Double(d) => Some(*d),
            Value::Int(i) => Some(*i as f64),
            Value::Bulk(b) => std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()),
            Value::Simple(s) => s.parse().ok(),
            _ => None,
        };
        match n {
            Some(n) => Ok(n),
            None => type_err("f64", &v),
        }
    }
}

impl FromValue for bool {
    fn from_value(v: Value) -> Result<Self> {
        match &v {
            Value::Boolean(b) => Ok(*b),
            Value::Int(i) => Ok(*i != 0),
            Value::Simple(s) if s == "OK" => Ok(true),
            Value::Nil => Ok(false),
            _ => type_err("bool", &v),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Nil => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Nil => Ok(Vec::new()),
            v => match v.into_items() {
                Some(items) => items.into_iter().map(T::from_value).collect(),
                None => Err(Error::Type {
                    expected: "array",
                    got: "a scalar".into(),
                }),
            },
        }
    }
}

impl<A: FromValue, B: FromValue> FromValue for (A, B) {
    fn from_value(v: Value) -> Result<Self> {
        let items = Vec::<Value>::from_value(v)?;
        let [a, b]: [Value; 2] = items.try_into().map_err(|items: Vec<Value>| Error::Type {
            expected: "pair",
            got: format!("{} elements", items.len()),
        })?;
        Ok((A::from_value(a)?, B::from_value(b)?))
    }
}

fn pairs(v: Value) -> Result<Vec<(Value, Value)>> {
    match v {
        Value::Map(p) => Ok(p),
        Value::Nil => Ok(Vec::new()),
        v => {
            // RESP2 sends maps as flat arrays: key, value, key, value.
            let items = Vec::<Value>::from_value(v)?;
            if items.len() % 2 != 0 {
                return Err(Error::Type {
                    expected: "map",
                    got: format!("array of odd length {}", items.len()),
                });
            }
            let mut it = items.into_iter();
            let mut out = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                out.push((k, v));
            }
            Ok(out)
        }
    }
}

impl<K: FromValue + Eq + Hash, V: FromValue> FromValue for HashMap<K, V> {
    fn from_value(v: Value) -> Result<Self> {
        pairs(v)?
            .into_iter()
            .map(|(k, v)| Ok((K::from_value(k)?, V::from_value(v)?)))
            .collect()
    }
}

impl<K: FromValue + Ord, V: FromValue> FromValue for BTreeMap<K, V> {
    fn from_value(v: Value) -> Result<Self> {
        pairs(v)?
            .into_iter()
            .map(|(k, v)| Ok((K::from_value(k)?, V::from_value(v)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(
            String::from_value(Value::Bulk(b"hi".to_vec())).unwrap(),
            "hi"
        );
        assert_eq!(i64::from_value(Value::Bulk(b"-7".to_vec())).unwrap(), -7);
        assert_eq!(Option::<String>::from_value(Value::Nil).unwrap(), None);
        assert!(u16::from_value(Value::Int(70000)).is_err());
        let arr = Value::Array(vec![Value::Bulk(b"a".to_vec()), Value::Bulk(b"1".to_vec())]);
        let m: HashMap<String, i64> = FromValue::from_value(arr.clone()).unwrap();
        assert_eq!(m["a"], 1);
        let v: Vec<Vec<u8>> = FromValue::from_value(arr).unwrap();
        assert_eq!(v, vec![b"a".to_vec(), b"1".to_vec()]);
        let map = Value::Map(vec![(Value::Simple("k".into()), Value::Double(2.5))]);
        let m: BTreeMap<String, f64> = FromValue::from_value(map).unwrap();
        assert_eq!(m["k"], 2.5);
        assert!(matches!(
            i64::from_value(Value::Bulk(b"x".to_vec())),
            Err(Error::Type { .. })
        ));
    }
}
