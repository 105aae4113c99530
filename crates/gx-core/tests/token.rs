//! Integration tests of grant-token verification, one binary: fixtures from
//! PyJWT and the published clients, Wycheproof vectors, the attack catalogue, limits,
//! the memo and a property test, each run through every enabled crypto provider.

#![cfg(feature = "rust-crypto")]

mod token {
    pub(crate) mod util;

    mod catalogue;
    mod jwks;
    mod limits;
    mod memo;
    mod mutation;
    mod peer;
    mod wycheproof;
}
