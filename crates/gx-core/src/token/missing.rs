//! The list of missing scopes that a scope error or a report-mode grant carries. A leaf:
//! it depends on no other token module.

use core::fmt;

/// The most required scopes a [`VerifierOptions`](crate::VerifierOptions) may name: the
/// missing ones are remembered as a bit mask.
pub const MAX_REQUIRED_SCOPES: usize = 128;

/// The required scopes a grant does not hold, in the order they were required.
///
/// Borrows the required list; iterate it with [`iter`](Self::iter) or print it (comma
/// separated).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MissingScopes<'a> {
    required: &'a [&'a str],
    granted: Granted<'a>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Granted<'a> {
    /// The granted scopes themselves.
    List(&'a [&'a str]),
    /// Bit `i` set: `required[i]` is missing.
    Mask(u128),
}

impl<'a> MissingScopes<'a> {
    /// Nothing missing.
    pub(crate) const NONE: MissingScopes<'static> = MissingScopes {
        required: &[],
        granted: Granted::Mask(0),
    };

    /// The scopes of `required` that `granted` lacks, computed when iterated.
    pub(crate) fn listed(required: &'a [&'a str], granted: &'a [&'a str]) -> Self {
        Self {
            required,
            granted: Granted::List(granted),
        }
    }

    /// Computes what of `required` (at most [`MAX_REQUIRED_SCOPES`]) `granted` lacks, as
    /// a value that no longer borrows `granted`.
    pub(crate) fn masked(required: &'a [&'a str], granted: &[&str]) -> Self {
        let mut mask = 0u128;
        for (i, r) in required.iter().enumerate().take(MAX_REQUIRED_SCOPES) {
            if !granted.contains(r) {
                mask |= 1 << i;
            }
        }
        Self {
            required,
            granted: Granted::Mask(mask),
        }
    }

    /// Whether no required scope is missing.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The missing scopes.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let granted = self.granted;
        self.required.iter().enumerate().filter_map(move |(i, r)| {
            let missing = match granted {
                Granted::List(g) => !g.contains(r),
                Granted::Mask(m) => i < MAX_REQUIRED_SCOPES && m & (1 << i) != 0,
            };
            missing.then_some(*r)
        })
    }
}

impl fmt::Display for MissingScopes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(s)?;
        }
        Ok(())
    }
}

impl fmt::Debug for MissingScopes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;

    use super::*;

    #[test]
    fn lists_every_missing_scope_in_order() {
        let granted = ["read:contacts", "write:calendar"];
        let required = ["a", "read:contacts", "b"];
        let m = MissingScopes::masked(&required, &granted);
        assert_eq!(alloc::format!("{m}"), "a, b");
        assert!(!m.is_empty());
        assert!(MissingScopes::masked(&granted, &granted).is_empty());
        let list = MissingScopes::listed(&required, &granted);
        assert_eq!(list.iter().collect::<alloc::vec::Vec<_>>(), ["a", "b"]);
        assert!(MissingScopes::NONE.is_empty());
    }
}
