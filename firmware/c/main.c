/* gx firmware example in C: the checks of the Rust firmware (firmware/src/checks.rs),
 * through the C API of gx-ffi (include/gx.h), on the same fixed vectors, with the same
 * report: "GX-METRIC name=value" lines, then "GX-FIRMWARE PASS" or
 * "GX-FIRMWARE FAIL <step>", over semihosting. `cargo xtask embedded` builds and runs it
 * under QEMU mps2-an386 next to the Rust firmware.
 *
 * Memory, as a device would hold it: the arena, the parsed key set, the decode buffer,
 * the grant and the audit log are statics; the stack holds only call frames. */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "gx.h"

extern const uint8_t gx_fixture_snapshot[], gx_fixture_snapshot_end[];
extern const uint8_t gx_fixture_token[], gx_fixture_token_end[];

/* The fixtures' `now` (2026-11-27T03:55:06Z), in ms. */
#define NOW_MS 1795751706000ull
#define ISSUER "https://api.grantex.dev"
/* Room for a token (the fixture is 658 bytes) and its decoded header and claims. */
#define TOKEN_CAP 768
#define DECODE_CAP (TOKEN_CAP / 4 * 3)
#define LOG_CAP 2048
#define CHAIN_LEN 3
/* Four times the 8 KiB target, so an overshoot is measured, not a crash. */
#define ARENA_LEN (32 * 1024)

static uint8_t arena[ARENA_LEN];
static gx_jwks snapshot;
static uint8_t decode_buf[DECODE_CAP];
static gx_grant grant;
static uint8_t token_copy[TOKEN_CAP];
static uint8_t log_buf[LOG_CAP];

/* ---- report, without printf ---- */

static void print_num(uint64_t v) {
    char digits[21];
    int i = 20;
    digits[i] = 0;
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    board_print(&digits[i]);
}

static void metric_num(const char *name, uint64_t v) {
    board_print("GX-METRIC ");
    board_print(name);
    board_print("=");
    print_num(v);
    board_print("\n");
}

static void metric_str(const char *name, const char *v) {
    board_print("GX-METRIC ");
    board_print(name);
    board_print("=");
    board_print(v);
    board_print("\n");
}

/* ---- stack high-water mark: paint, then find the lowest changed word ---- */

#define PATTERN 0x5AA5C33Cu
#define PAINT_LEN (64u * 1024u)
#define MARGIN 256u

static uint32_t deepest;

static uintptr_t paint_bottom(void) {
    uintptr_t top = board_stack_top(), end = (board_bss_end() + 3u) & ~(uintptr_t)3u;
    return top - PAINT_LEN > end ? top - PAINT_LEN : end;
}

__attribute__((noinline)) static void stack_paint(void) {
    uintptr_t sp = board_stack_pointer(), addr;
    for (addr = paint_bottom(); addr + 4 <= sp - MARGIN; addr += 4) {
        *(volatile uint32_t *)addr = PATTERN;
    }
}

/* Bytes used since the last paint, from the top; 0 if the paint was overrun. */
static uint32_t stack_since_paint(void) {
    uintptr_t addr = paint_bottom();
    while (*(volatile uint32_t *)addr == PATTERN) addr += 4;
    return addr == paint_bottom() ? 0 : (uint32_t)(board_stack_top() - addr);
}

__attribute__((noinline)) static void stack_checkpoint(const char *phase) {
    uint32_t used = stack_since_paint();
    board_print("GX-METRIC stack_");
    board_print(phase);
    board_print("=");
    if (used) {
        print_num(used);
    } else {
        board_print("overflowed-paint");
        used = 0xFFFFFFFFu;
    }
    board_print("\n");
    if (used > deepest) deepest = used;
    stack_paint();
}

/* ---- the checks ---- */

static gx_str str_of(const char *s) {
    gx_str r;
    r.ptr = (const uint8_t *)s;
    r.len = strlen(s);
    return r;
}

static int str_eq(gx_str s, const char *want) {
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static size_t token_len(void) {
    size_t n = (size_t)(gx_fixture_token_end - gx_fixture_token);
    while (n && (gx_fixture_token[n - 1] == '\n' || gx_fixture_token[n - 1] == ' ')) n--;
    return n;
}

__attribute__((noinline)) static const char *parse_snapshot(void) {
    size_t len = (size_t)(gx_fixture_snapshot_end - gx_fixture_snapshot);
    if (gx_jwks_parse(&snapshot, gx_fixture_snapshot, len) != GX_ERROR_OK) {
        return "parse JWKS snapshot";
    }
    return gx_jwks_usable_keys(&snapshot) == 1 ? NULL : "JWKS snapshot key count";
}

/* Verifies the valid token (counting SysTick ticks around gx_verify alone), checks
 * its claims, enforces a granted scope set and refuses a scope it lacks. */
__attribute__((noinline)) static const char *verify_and_enforce(uint64_t *ticks) {
    gx_str required[1];
    gx_str granted[2];
    gx_str missing[1];
    gx_verify_options opts = gx_verify_options_default();
    const uint8_t *token = gx_fixture_token;
    size_t len = token_len();
    uint64_t start;
    gx_error err;
    required[0] = str_of("read:contacts");
    opts.required_scopes = required;
    opts.required_scope_count = 1;
    opts.issuer = str_of(ISSUER);
#ifdef GX_FAIL_ON_PURPOSE
    /* One flipped signature character: the firmware must report FAIL. */
    memcpy(token_copy, token, len);
    token_copy[len - 40] = token_copy[len - 40] == 'A' ? 'B' : 'A';
    token = token_copy;
#endif
    start = board_ticks();
    err = gx_verify(&snapshot, &opts, token, len, NOW_MS, decode_buf, sizeof decode_buf, &grant);
    *ticks = board_ticks() - start;
    if (err != GX_ERROR_OK) return "verify valid token";
    if (!str_eq(grant.agent_did, "did:grantex:ag_1") || !str_eq(grant.grant_id, "grnt_1")) {
        return "grant claims";
    }
    granted[0] = str_of("read:contacts");
    granted[1] = str_of("write:calendar");
    if (gx_grant_enforce_scopes(&grant, granted, 2) != GX_ERROR_OK) {
        return "enforce granted scopes";
    }
    missing[0] = str_of("admin:all");
    if (gx_grant_enforce_scopes(&grant, missing, 1) != GX_ERROR_SCOPE_VIOLATION) {
        return "enforce missing scope";
    }
    return gx_grant_has_scope(&grant, missing[0].ptr, missing[0].len) ? "has_scope" : NULL;
}

/* The token with one signature character changed must fail with BAD_SIGNATURE. */
__attribute__((noinline)) static const char *reject_tampered(void) {
    size_t len = token_len();
    memcpy(token_copy, gx_fixture_token, len);
    token_copy[len - 40] = token_copy[len - 40] == 'A' ? 'B' : 'A';
    if (gx_verify(&snapshot, NULL, token_copy, len, NOW_MS, decode_buf, sizeof decode_buf,
                  &grant) != GX_ERROR_BAD_SIGNATURE) {
        return "reject tampered token";
    }
    return NULL;
}

static gx_error verify_log(const gx_verifying_key *key, size_t len, gx_chain_head *head) {
    gx_chain chain;
    gx_error err = gx_chain_init(&chain, key, NULL, 0);
    if (err == GX_ERROR_OK) err = gx_chain_push_jsonl(&chain, log_buf, len);
    if (err == GX_ERROR_OK) err = gx_chain_finish(&chain, head);
    if (err != GX_ERROR_OK) {
        gx_chain_break brk;
        if (gx_chain_first_break(&chain, &brk) && brk.index != 1) return GX_ERROR_INTERNAL;
    }
    return err;
}

/* Signs CHAIN_LEN entries into the log buffer as JSONL, verifies the chain back, and
 * checks that one changed byte breaks it at entry 1. */
__attribute__((noinline)) static const char *audit_chain(uint64_t *entries) {
    static const char *const timestamps[CHAIN_LEN] = {
        "2026-11-27T03:55:07.000Z", "2026-11-27T03:55:08.250Z", "2026-11-27T03:55:09.500Z"};
    uint8_t seed[32], prev[32];
    gx_signing_key key;
    gx_verifying_key pub;
    gx_str scopes[1];
    gx_audit_entry e;
    gx_chain_head head;
    size_t len = 0, n, i, second;
    memset(seed, 0x42, sizeof seed);
    if (gx_signing_key_from_seed(seed, &key) != GX_ERROR_OK) return "signing key";
    if (gx_signing_key_public(&key, &pub) != GX_ERROR_OK) return "verifying key";
    scopes[0] = str_of("read:contacts");
    memset(&e, 0, sizeof e);
    e.action = str_of("contacts.read");
    e.agent_did = str_of("did:grantex:ag_1");
    e.grant_id = str_of("grnt_1");
    e.scopes = scopes;
    e.scope_count = 1;
    e.result = str_of("success");
    e.metadata = str_of("{\"count\":3,\"source\":\"firmware\"}");
    for (i = 0; i < CHAIN_LEN; i++) {
        e.seq = i + 1;
        e.timestamp = str_of(timestamps[i]);
        e.prev_hash = i == 0 ? NULL : prev;
        if (gx_audit_sign_line(&key, &e, log_buf + len, LOG_CAP - len, &n, prev) != GX_ERROR_OK) {
            return "sign entry";
        }
        len += n;
    }
    gx_signing_key_wipe(&key);
    /* Built without float-metadata: a fraction cannot be hashed exactly as JavaScript
     * prints it here, so it must be refused with a typed error. */
    e.metadata = str_of("{\"ratio\":0.5}");
    if (gx_audit_entry_hash(&e, prev) != GX_ERROR_METADATA_NUMBER_UNSUPPORTED) {
        return "refuse a float in metadata";
    }
    if (verify_log(&pub, len, &head) != GX_ERROR_OK) return "verify audit chain";
    if (head.entries != CHAIN_LEN) return "audit chain length";
    *entries = head.entries;
    /* Change "success" to "Success" in the second entry: its hash no longer matches. */
    for (second = 0; second < len && log_buf[second] != '\n'; second++) {
    }
    for (i = second; i + 9 <= len; i++) {
        if (memcmp(log_buf + i, "\"success\"", 9) == 0) break;
    }
    if (i + 9 > len) return "find result";
    log_buf[i + 1] = 'S';
    return verify_log(&pub, len, &head) == GX_ERROR_INVALID_HASH ? NULL
                                                                  : "detect tampered audit entry";
}

int main(void) {
    uint64_t insns_per_tick, ticks = 0, entries = 0;
    const char *failed;
    uint32_t stack;
    stack_paint();
    if (gx_heap_init(arena, sizeof arena) != GX_ERROR_OK) {
        board_print("GX-FIRMWARE FAIL heap init\n");
        return 1;
    }
    insns_per_tick = board_calibrate();
    stack_checkpoint("baseline");
    failed = parse_snapshot();
    stack_checkpoint("jwks_parse");
    if (!failed) failed = verify_and_enforce(&ticks);
    stack_checkpoint("token_verify_and_scopes");
    if (!failed) failed = reject_tampered();
    stack_checkpoint("tampered_token");
    if (!failed) failed = audit_chain(&entries);
    stack_checkpoint("audit_chain");
    stack = deepest;
    metric_str("target", "thumbv7em-none-eabihf (C, gx-ffi)");
    metric_str("counter", "SysTick (core clock, calibrated; QEMU -icount shift=0)");
    metric_num("calibration_milli_insns_per_unit", insns_per_tick);
    metric_num("heap_peak_bytes", gx_heap_peak());
    metric_num("heap_size_bytes", ARENA_LEN);
    if (stack == 0xFFFFFFFFu) {
        metric_str("stack_peak_bytes", "overflowed-paint");
    } else {
        metric_num("stack_peak_bytes", stack);
    }
    metric_num("size_gx_jwks", sizeof(gx_jwks));
    metric_num("size_gx_grant", sizeof(gx_grant));
    if (failed) {
        board_print("GX-FIRMWARE FAIL ");
        board_print(failed);
        board_print("\n");
        return 1;
    }
    metric_num("verify_counter_units", ticks);
    metric_num("verify_instructions", ticks * insns_per_tick / 1000);
    metric_num("chain_entries", entries);
    if (stack == 0xFFFFFFFFu) {
        board_print("GX-FIRMWARE FAIL stack\n");
        return 1;
    }
    board_print("GX-FIRMWARE PASS\n");
    return 0;
}
