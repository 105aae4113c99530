//! The API key: kept in zeroizing memory, never shown in `Debug`, `Display` or logs.

use core::fmt;

use zeroize::Zeroizing;

use crate::ClientError;

/// A Grantex API key (`Authorization: Bearer <key>`).
///
/// The bytes are wiped when the key is dropped, and `Debug` prints `ApiKey(<redacted>)`,
/// so a key can sit inside structs that are logged without leaking.
#[derive(Clone)]
pub struct ApiKey(Zeroizing<String>);

impl ApiKey {
    /// Shortest key the protocol accepts.
    pub const MIN_LEN: usize = 16;
    /// Longest key the protocol accepts.
    pub const MAX_LEN: usize = 512;

    /// Wraps `key`, checking the protocol's length bounds (16..=512) and that it is
    /// printable ASCII without spaces (it travels in an HTTP header).
    ///
    /// # Errors
    /// [`ClientError::InvalidApiKey`] when the key is out of bounds or has other characters;
    /// the error never contains the key.
    pub fn new(key: impl Into<String>) -> Result<Self, ClientError> {
        let key = Zeroizing::new(key.into());
        let len_ok = (Self::MIN_LEN..=Self::MAX_LEN).contains(&key.len());
        let chars_ok = key.bytes().all(|b| b.is_ascii_graphic());
        if len_ok && chars_ok {
            Ok(Self(key))
        } else {
            Err(ClientError::InvalidApiKey)
        }
    }

    /// The key itself, for building the `Authorization` header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl TryFrom<String> for ApiKey {
    type Error = ClientError;

    fn try_from(key: String) -> Result<Self, Self::Error> {
        Self::new(key)
    }
}

impl TryFrom<&str> for ApiKey {
    type Error = ClientError;

    fn try_from(key: &str) -> Result<Self, Self::Error> {
        Self::new(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::new("gx_live_0123456789abcdef").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("0123456789"), "{shown}");
        assert_eq!(shown, "ApiKey(<redacted>)");
    }

    #[test]
    fn length_and_charset_are_checked() {
        assert!(matches!(
            ApiKey::new("short"),
            Err(ClientError::InvalidApiKey)
        ));
        assert!(matches!(
            ApiKey::new("x".repeat(513)),
            Err(ClientError::InvalidApiKey)
        ));
        assert!(matches!(
            ApiKey::new("has a space in the key"),
            Err(ClientError::InvalidApiKey)
        ));
        assert!(ApiKey::new("x".repeat(512)).is_ok());
        let err = ApiKey::new("bad key with secret123").unwrap_err();
        assert!(!err.to_string().contains("secret123"));
    }
}
