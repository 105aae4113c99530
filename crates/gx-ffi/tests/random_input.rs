//! The extern functions on random input, called as C would call them: whatever the
//! bytes, lengths and option values, every call returns one of the enum's codes (never
//! a panic: a panic across `extern "C"` would abort this test process), and the result
//! structs point only into the caller's buffers.
//!
//! The deep paths (JSON, base64url, claims, entry lines, metadata) are fuzzed with
//! libFuzzer through gx-core (`fuzz/`: `token_verify`, `jwks_parse`, `audit_line`,
//! `metadata_canon`); these properties cover what gx-ffi adds on top: pointer and length
//! handling, UTF-8 checks, option and entry conversion, storage markers.
// Calling `unsafe extern "C"` functions is what this test is for.
#![allow(unsafe_code)]

use gx_ffi::*;
use proptest::prelude::*;

fn s(b: &[u8]) -> GxStr {
    GxStr {
        ptr: b.as_ptr(),
        len: b.len(),
    }
}

/// A known value of the enum (the integer is one `gx_error_code_str` names).
fn known(e: GxError) -> bool {
    // SAFETY: gx_error_code_str returns a static NUL-terminated string.
    let text = unsafe { core::ffi::CStr::from_ptr(gx_error_code_str(e as i32)) };
    text.to_bytes() != b"UNKNOWN"
}

const SNAPSHOT: &[u8] = include_bytes!("../../../fixtures/tokens/snapshot.json");
const TOKEN: &str = include_str!("../../../fixtures/tokens/rs256_2048.jwt");

fn parsed_snapshot() -> Box<GxJwks> {
    // SAFETY: GxJwks is plain words; a zeroed one is valid empty storage.
    let mut jwks: Box<GxJwks> = Box::new(unsafe { core::mem::zeroed() });
    // SAFETY: valid storage and buffer.
    let e = unsafe { gx_jwks_parse(&mut *jwks, SNAPSHOT.as_ptr(), SNAPSHOT.len()) };
    assert_eq!(e, GxError::Ok);
    jwks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn jwks_parse_of_any_bytes_returns_a_code(json in proptest::collection::vec(any::<u8>(), 0..512)) {
        // SAFETY: zeroed storage is valid empty storage.
        let mut jwks: Box<GxJwks> = Box::new(unsafe { core::mem::zeroed() });
        // SAFETY: valid storage and buffer.
        let e = unsafe { gx_jwks_parse(&mut *jwks, json.as_ptr(), json.len()) };
        prop_assert!(known(e));
        // SAFETY: storage set up by gx_jwks_parse.
        unsafe { gx_jwks_free(&mut *jwks) };
    }

    #[test]
    fn verify_of_any_token_and_options_returns_a_code(
        token in proptest::collection::vec(any::<u8>(), 0..900),
        mutate in any::<bool>(),
        at in 0usize..700,
        byte in any::<u8>(),
        now_ms in any::<u64>(),
        skew in any::<u64>(),
        depth in proptest::option::of(any::<u32>()),
        report in any::<bool>(),
        issuer in proptest::collection::vec(any::<u8>(), 0..40),
        scopes in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 0..40),
        buf_len in 0usize..1200,
    ) {
        let jwks = parsed_snapshot();
        // Either random bytes, or the valid token with one byte changed.
        let mut token = if mutate { TOKEN.trim().as_bytes().to_vec() } else { token };
        if mutate && let Some(b) = token.get_mut(at) {
            *b = byte;
        }
        let scope_strs: Vec<GxStr> = scopes.iter().map(|v| s(v)).collect();
        let mut opts = gx_verify_options_default();
        opts.clock_skew_secs = skew;
        opts.required_scopes = scope_strs.as_ptr();
        opts.required_scope_count = scope_strs.len();
        opts.report_missing_scopes = report;
        opts.limit_delegation_depth = depth.is_some();
        opts.max_delegation_depth = depth.unwrap_or(0);
        opts.issuer = if issuer.is_empty() { GxStr::NONE } else { s(&issuer) };
        let mut buf = vec![0xA5u8; buf_len];
        let mut grant = core::mem::MaybeUninit::<GxGrant>::uninit();
        // SAFETY: every pointer is valid for its length.
        let e = unsafe {
            gx_verify(&*jwks, &opts, token.as_ptr(), token.len(), now_ms, buf.as_mut_ptr(), buf.len(), grant.as_mut_ptr())
        };
        prop_assert!(known(e));
        if scope_strs.len() > GX_MAX_REQUIRED_SCOPES && core::str::from_utf8(&token).is_ok() {
            prop_assert_eq!(e, GxError::InvalidArgument);
        }
        if e == GxError::Ok {
            // SAFETY: written on GX_OK.
            let g = unsafe { grant.assume_init() };
            let range = buf.as_ptr_range();
            for f in [g.agent_did, g.principal, g.jti, g.grant_id].into_iter().chain(g.scopes.into_iter().take(g.scope_count)) {
                prop_assert!(range.contains(&f.ptr) && f.len <= buf.len(), "a grant field points outside the buffer");
            }
        }
    }

    #[test]
    fn audit_entries_of_any_fields_return_a_code(
        seq in any::<u64>(),
        fields in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 6),
        scope_count in 0usize..40,
        metadata in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..60)),
        genesis in any::<bool>(),
        cap in 0usize..900,
    ) {
        let seed = [7u8; 32];
        let mut key = core::mem::MaybeUninit::<GxSigningKey>::uninit();
        // SAFETY: valid pointers.
        prop_assert_eq!(unsafe { gx_signing_key_from_seed(seed.as_ptr(), key.as_mut_ptr()) }, GxError::Ok);
        let scopes: Vec<GxStr> = (0..scope_count).map(|i| s(&fields[i % 6])).collect();
        let prev = [3u8; 32];
        let entry = GxAuditEntry {
            seq,
            timestamp: s(&fields[0]),
            action: s(&fields[1]),
            agent_did: s(&fields[2]),
            grant_id: s(&fields[3]),
            scopes: scopes.as_ptr(),
            scope_count,
            result: s(&fields[4]),
            metadata: metadata.as_deref().map_or(GxStr::NONE, s),
            prev_hash: if genesis { core::ptr::null() } else { prev.as_ptr() },
        };
        let mut line = vec![0u8; cap];
        let mut len = 0usize;
        let mut hash = [0u8; 32];
        // SAFETY: every pointer is valid for its length.
        let e = unsafe { gx_audit_sign_line(key.as_ptr(), &entry, line.as_mut_ptr(), line.len(), &mut len, hash.as_mut_ptr()) };
        prop_assert!(known(e));
        if e == GxError::Ok && (!genesis || seq == 1) {
            prop_assert!(len <= cap);
            // The line verifies as a chain of one when it starts one.
            let mut public = core::mem::MaybeUninit::<GxVerifyingKey>::uninit();
            let mut chain = core::mem::MaybeUninit::<GxChain>::uninit();
            // SAFETY: valid pointers; the key outlives the chain.
            unsafe {
                prop_assert_eq!(gx_signing_key_public(key.as_ptr(), public.as_mut_ptr()), GxError::Ok);
                let anchor = if genesis { core::ptr::null() } else { prev.as_ptr() };
                prop_assert_eq!(gx_chain_init(chain.as_mut_ptr(), public.as_ptr(), anchor, seq.wrapping_sub(1)), GxError::Ok);
                prop_assert_eq!(gx_chain_push_line(chain.as_mut_ptr(), line.as_ptr(), len), GxError::Ok);
            }
        }
        // SAFETY: valid pointers.
        let h = unsafe { gx_audit_entry_hash(&entry, hash.as_mut_ptr()) };
        prop_assert!(known(h));
    }

    #[test]
    fn chains_of_any_lines_return_a_code(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..6)) {
        let mut public = core::mem::MaybeUninit::<GxVerifyingKey>::uninit();
        let mut signing = core::mem::MaybeUninit::<GxSigningKey>::uninit();
        let mut chain = core::mem::MaybeUninit::<GxChain>::uninit();
        let mut head = core::mem::MaybeUninit::<GxChainHead>::uninit();
        let mut brk = core::mem::MaybeUninit::<GxChainBreak>::uninit();
        let jsonl: Vec<u8> = lines.join(&b'\n');
        // SAFETY: valid pointers; the key outlives the chain.
        unsafe {
            prop_assert_eq!(gx_signing_key_from_seed([1u8; 32].as_ptr(), signing.as_mut_ptr()), GxError::Ok);
            prop_assert_eq!(gx_signing_key_public(signing.as_ptr(), public.as_mut_ptr()), GxError::Ok);
            prop_assert_eq!(gx_chain_init(chain.as_mut_ptr(), public.as_ptr(), core::ptr::null(), 0), GxError::Ok);
            for l in &lines {
                prop_assert!(known(gx_chain_push_line(chain.as_mut_ptr(), l.as_ptr(), l.len())));
            }
            prop_assert!(known(gx_chain_push_jsonl(chain.as_mut_ptr(), jsonl.as_ptr(), jsonl.len())));
            let f = gx_chain_finish(chain.as_mut_ptr(), head.as_mut_ptr());
            prop_assert!(known(f));
            prop_assert_eq!(gx_chain_first_break(chain.as_mut_ptr(), brk.as_mut_ptr()), f != GxError::Ok);
        }
    }
}

#[test]
fn null_and_empty_arguments_are_codes() {
    // SAFETY: NULL pointers with zero lengths are allowed everywhere.
    unsafe {
        assert_eq!(
            gx_jwks_parse(core::ptr::null_mut(), core::ptr::null(), 0),
            GxError::NullArgument
        );
        let mut grant = core::mem::MaybeUninit::<GxGrant>::uninit();
        assert_eq!(
            gx_verify(
                core::ptr::null(),
                core::ptr::null(),
                core::ptr::null(),
                0,
                0,
                core::ptr::null_mut(),
                0,
                grant.as_mut_ptr()
            ),
            GxError::NullArgument
        );
        let jwks = parsed_snapshot();
        assert_eq!(
            gx_verify(
                &*jwks,
                core::ptr::null(),
                core::ptr::null(),
                0,
                0,
                core::ptr::null_mut(),
                0,
                grant.as_mut_ptr()
            ),
            GxError::MalformedToken
        );
        // A length with a NULL pointer.
        assert_eq!(
            gx_verify(
                &*jwks,
                core::ptr::null(),
                core::ptr::null(),
                10,
                0,
                core::ptr::null_mut(),
                0,
                grant.as_mut_ptr()
            ),
            GxError::NullArgument
        );
        assert!(!gx_grant_has_scope(core::ptr::null(), core::ptr::null(), 0));
        assert_eq!(
            gx_chain_push_line(core::ptr::null_mut(), core::ptr::null(), 0),
            GxError::NullArgument
        );
        assert_eq!(
            gx_heap_init(core::ptr::null_mut(), 0),
            GxError::NullArgument
        );
        // This build has no arena: the program's allocator is used.
        let mut arena = [0u8; 1024];
        assert_eq!(
            gx_heap_init(arena.as_mut_ptr(), arena.len()),
            GxError::HeapUnavailable
        );
        assert_eq!(gx_heap_peak(), 0);
    }
}
