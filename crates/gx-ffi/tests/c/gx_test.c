/* Host test of the gx C API: compiled with `cc -std=c99 -Wall -Wextra -Werror` against
 * include/gx.h and libgx_ffi.a by tests/c_api.rs, which also writes its input.
 *
 * Usage: gx_test <vectors.txt> <chain-out.jsonl>
 *
 * vectors.txt, one record per line, fields separated by tabs, strings in hex:
 *   K <name> <json>                        a key set to parse
 *   C <name> <jwks name> <now ms> <token> <issuer|-> <audience|-> <max depth|-> <report 0|1> <required,...|->
 *   A <name> <spki pem> <jsonl> <entries>  a chain that must verify with that many entries
 * For each C record it prints one line "R <name> <CODE>" (and, for OK, the grant's
 * fields), which the Rust side compares with the catalogue. Its own checks (misuse,
 * error strings, audit chains) print "FAIL ..." lines; the last line is
 * "GX-C-TEST PASS" or "GX-C-TEST FAIL <n>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gx.h"

static int failures = 0;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            failures++;                                                      \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                      \
            printf(__VA_ARGS__);                                             \
            printf("\n");                                                    \
        }                                                                    \
    } while (0)

#define CHECK_CODE(got, want)                                                \
    CHECK((got) == (want), "%s: got %s, want %s", #got,                      \
          gx_error_code_str(got), gx_error_code_str(want))

/* The arena: the only memory gx allocates from. 256 KiB covers the 4096-bit keys of
 * fixtures/tokens/jwks.json (this host build has rsa-large-keys). */
static uint8_t arena[256 * 1024];

static gx_str str_of(const char *s) {
    gx_str r;
    r.ptr = (const uint8_t *)s;
    r.len = strlen(s);
    return r;
}

/* ---- reading the vector file ---- */

typedef struct {
    uint8_t *bytes;
    size_t len;
} blob;

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes hex text [s, s+n) into a fresh buffer (NUL-terminated for convenience). */
static blob unhex(const char *s, size_t n) {
    blob b;
    size_t i;
    b.len = n / 2;
    b.bytes = malloc(b.len + 1);
    if (!b.bytes) abort();
    for (i = 0; i < b.len; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) abort();
        b.bytes[i] = (uint8_t)(hi * 16 + lo);
    }
    b.bytes[b.len] = 0;
    return b;
}

static blob read_file(const char *path) {
    blob b = {NULL, 0};
    long n;
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("FAIL cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b.bytes = malloc((size_t)n + 1);
    if (!b.bytes || fread(b.bytes, 1, (size_t)n, f) != (size_t)n) abort();
    b.bytes[n] = 0;
    b.len = (size_t)n;
    fclose(f);
    return b;
}

/* Splits a line at tabs in place; returns the number of fields (at most max). */
static size_t split(char *line, char **fields, size_t max) {
    size_t n = 0;
    char *p = line;
    while (n < max) {
        char *tab = strchr(p, '\t');
        fields[n++] = p;
        if (!tab) break;
        *tab = 0;
        p = tab + 1;
    }
    return n;
}

static void print_hex(const uint8_t *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) printf("%02x", p[i]);
}

static void print_field(gx_str s) {
    printf("\t");
    if (s.ptr == NULL) {
        printf("-");
    } else {
        print_hex(s.ptr, s.len);
    }
}

static void print_list(const gx_str *items, size_t n) {
    size_t i;
    printf("\t");
    for (i = 0; i < n; i++) {
        if (i) printf(",");
        print_hex(items[i].ptr, items[i].len);
    }
}

/* ---- key sets by name ---- */

#define MAX_SETS 8
static gx_jwks sets[MAX_SETS];
static char set_names[MAX_SETS][64];
static size_t set_count = 0;

static gx_jwks *find_set(const char *name) {
    size_t i;
    for (i = 0; i < set_count; i++) {
        if (strcmp(set_names[i], name) == 0) return &sets[i];
    }
    return NULL;
}

/* ---- one catalogue case ---- */

static uint8_t decode_buf[GX_DECODE_BUF_LEN];
static gx_grant grant;

static void run_case(char **f) {
    blob token = unhex(f[4], strlen(f[4]));
    blob issuer = {NULL, 0}, audience = {NULL, 0};
    gx_str required[GX_MAX_REQUIRED_SCOPES];
    blob required_blobs[GX_MAX_REQUIRED_SCOPES];
    size_t nreq = 0, i;
    gx_verify_options opts = gx_verify_options_default();
    gx_jwks *set = find_set(f[2]);
    gx_error err;

    if (strcmp(f[5], "-") != 0) issuer = unhex(f[5], strlen(f[5]));
    if (strcmp(f[6], "-") != 0) audience = unhex(f[6], strlen(f[6]));
    if (issuer.bytes) {
        opts.issuer.ptr = issuer.bytes;
        opts.issuer.len = issuer.len;
    }
    if (audience.bytes) {
        opts.audience.ptr = audience.bytes;
        opts.audience.len = audience.len;
    }
    if (strcmp(f[7], "-") != 0) {
        opts.limit_delegation_depth = true;
        opts.max_delegation_depth = (uint32_t)strtoul(f[7], NULL, 10);
    }
    opts.report_missing_scopes = f[8][0] == '1';
    if (strcmp(f[9], "-") != 0) {
        char *p = f[9];
        while (*p && nreq < GX_MAX_REQUIRED_SCOPES) {
            char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            required_blobs[nreq] = unhex(p, n);
            required[nreq].ptr = required_blobs[nreq].bytes;
            required[nreq].len = required_blobs[nreq].len;
            nreq++;
            p += n;
            if (*p == ',') p++;
        }
        opts.required_scopes = required;
        opts.required_scope_count = nreq;
    }
    CHECK(set != NULL, "case %s: unknown key set %s", f[1], f[2]);
    err = gx_verify(set, &opts, token.bytes, token.len, strtoull(f[3], NULL, 10), decode_buf,
                    sizeof decode_buf, &grant);
    printf("R\t%s\t%s", f[1], gx_error_code_str(err));
    if (err == GX_ERROR_OK) {
        gx_str missing[GX_MAX_REQUIRED_SCOPES];
        size_t nmissing = 0;
        for (i = 0; i < nreq; i++) {
            if (grant.missing_scopes & (1u << i)) missing[nmissing++] = required[i];
        }
        print_field(grant.agent_did);
        print_field(grant.principal);
        print_field(grant.jti);
        print_field(grant.grant_id);
        printf("\t%u", (unsigned)grant.delegation_depth);
        print_field(grant.issuer);
        print_field(grant.developer_id);
        printf("\t%llu", (unsigned long long)(grant.expires_at_ms / 1000));
        print_list(grant.scopes, grant.scope_count);
        print_list(grant.audience, grant.audience_count);
        print_list(missing, nmissing);
        /* The scope checks agree with the list. */
        for (i = 0; i < grant.scope_count; i++) {
            CHECK(gx_grant_has_scope(&grant, grant.scopes[i].ptr, grant.scopes[i].len),
                  "case %s: has_scope of a granted scope", f[1]);
        }
        CHECK(!gx_grant_has_scope(&grant, (const uint8_t *)"admin:all", 9),
              "case %s: has_scope admin:all", f[1]);
        CHECK_CODE(gx_grant_enforce_scopes(&grant, grant.scopes, grant.scope_count), GX_ERROR_OK);
    }
    printf("\n");
    free(token.bytes);
    free(issuer.bytes);
    free(audience.bytes);
    for (i = 0; i < nreq; i++) free(required_blobs[i].bytes);
}

/* ---- audit: a chain written by someone else must verify ---- */

static void verify_chain(char **f) {
    blob pem = unhex(f[2], strlen(f[2]));
    blob jsonl = unhex(f[3], strlen(f[3]));
    unsigned long long want = strtoull(f[4], NULL, 10);
    gx_verifying_key key;
    gx_chain chain;
    gx_chain_head head;
    gx_chain_break brk;
    size_t mid;

    CHECK_CODE(gx_verifying_key_from_spki_pem(pem.bytes, pem.len, &key), GX_ERROR_OK);
    CHECK_CODE(gx_chain_init(&chain, &key, NULL, 0), GX_ERROR_OK);
    CHECK_CODE(gx_chain_push_jsonl(&chain, jsonl.bytes, jsonl.len), GX_ERROR_OK);
    CHECK_CODE(gx_chain_finish(&chain, &head), GX_ERROR_OK);
    CHECK(head.entries == want, "chain %s: %llu entries, want %llu", f[1],
          (unsigned long long)head.entries, want);
    CHECK(head.has_last && head.last_seq == want, "chain %s: last seq", f[1]);
    CHECK(!gx_chain_first_break(&chain, &brk), "chain %s: reports a break", f[1]);

    /* One changed byte in the second half breaks it there, and the break sticks. */
    mid = jsonl.len / 2;
    while (mid < jsonl.len && jsonl.bytes[mid] != '"') mid++;
    mid++;
    jsonl.bytes[mid] ^= 0x01;
    CHECK_CODE(gx_chain_init(&chain, &key, NULL, 0), GX_ERROR_OK);
    CHECK(gx_chain_push_jsonl(&chain, jsonl.bytes, jsonl.len) != GX_ERROR_OK,
          "chain %s: tampered chain verified", f[1]);
    CHECK(gx_chain_first_break(&chain, &brk), "chain %s: no break reported", f[1]);
    CHECK(brk.index > 0 && brk.index < want, "chain %s: break at %llu", f[1],
          (unsigned long long)brk.index);
    CHECK(gx_chain_finish(&chain, &head) == brk.code, "chain %s: finish", f[1]);
    CHECK(gx_chain_push_line(&chain, (const uint8_t *)"{}", 2) == brk.code,
          "chain %s: break does not stick", f[1]);
    free(pem.bytes);
    free(jsonl.bytes);
}

/* ---- audit: write a chain for the Rust side (gx-core, node) to verify ---- */

#define CHAIN_LEN 5

static void write_chain(const char *path) {
    static const char *timestamps[CHAIN_LEN] = {
        "2026-11-27T03:55:07.000Z", "2026-11-27T03:55:08.250Z", "2026-11-27T03:55:09.500Z",
        "2026-11-27T03:55:10.000Z", "2026-11-27T03:55:11.999Z"};
    static const char *metadata[CHAIN_LEN] = {
        "{\"count\":3,\"source\":\"c\"}", NULL, "{\"b\":1,\"a\":[true,null],\"1\":\"x\"}",
        "{\"ratio\":0.5,\"big\":1e21}", "{\"quote\":\"\\\"\\u00e9\\n\"}"};
    uint8_t seed[32], prev[32], hash[32], line[1024];
    gx_signing_key key;
    gx_verifying_key pub;
    gx_chain chain;
    gx_chain_head head;
    gx_str scopes[2];
    gx_audit_entry e;
    size_t i, len;
    FILE *out = fopen(path, "wb");
    if (!out) abort();

    for (i = 0; i < 32; i++) seed[i] = (uint8_t)(i + 1); /* fixtures/audit's test key */
    CHECK_CODE(gx_signing_key_from_seed(seed, &key), GX_ERROR_OK);
    CHECK_CODE(gx_signing_key_public(&key, &pub), GX_ERROR_OK);
    CHECK_CODE(gx_chain_init(&chain, &pub, NULL, 0), GX_ERROR_OK);
    scopes[0] = str_of("read:contacts");
    scopes[1] = str_of("write:calendar");
    for (i = 0; i < CHAIN_LEN; i++) {
        memset(&e, 0, sizeof e);
        e.seq = i + 1;
        e.timestamp = str_of(timestamps[i]);
        e.action = str_of(i == 4 ? "contacts.read \"quoted\" \xc3\xa9" : "contacts.read");
        e.agent_did = str_of("did:grantex:ag_1");
        e.grant_id = str_of("grnt_1");
        e.scopes = scopes;
        e.scope_count = i % 2 ? 2 : 1;
        e.result = str_of(i == 2 ? "denied" : "success");
        e.metadata = metadata[i] ? str_of(metadata[i]) : (gx_str){NULL, 0};
        e.prev_hash = i == 0 ? NULL : prev;
        CHECK_CODE(gx_audit_sign_line(&key, &e, line, sizeof line, &len, hash), GX_ERROR_OK);
        CHECK(len > 0 && line[len - 1] == '\n', "entry %u: no newline", (unsigned)i);
        {
            uint8_t again[32];
            CHECK_CODE(gx_audit_entry_hash(&e, again), GX_ERROR_OK);
            CHECK(memcmp(again, hash, 32) == 0, "entry %u: hash differs", (unsigned)i);
        }
        CHECK_CODE(gx_chain_push_line(&chain, line, len), GX_ERROR_OK);
        fwrite(line, 1, len, out);
        memcpy(prev, hash, 32);
        /* Too small a line buffer: BUFFER_FULL, nothing else. */
        CHECK_CODE(gx_audit_sign_line(&key, &e, line, 40, &len, NULL), GX_ERROR_BUFFER_FULL);
    }
    fclose(out);
    CHECK_CODE(gx_chain_finish(&chain, &head), GX_ERROR_OK);
    CHECK(head.entries == CHAIN_LEN && head.last_seq == CHAIN_LEN &&
              memcmp(head.last_hash, prev, 32) == 0,
          "head of the written chain");

    /* Shape rules and metadata refusals come back as their codes. */
    e.seq = 0;
    CHECK_CODE(gx_audit_sign_line(&key, &e, line, sizeof line, &len, NULL),
               GX_ERROR_ENTRY_BAD_SEQ);
    e.seq = 9;
    e.metadata = str_of("{\"__proto__\":1}");
    CHECK_CODE(gx_audit_entry_hash(&e, hash), GX_ERROR_METADATA_FORBIDDEN_KEY);
    e.metadata = str_of("[1]");
    CHECK_CODE(gx_audit_entry_hash(&e, hash), GX_ERROR_METADATA_NOT_OBJECT);
    e.metadata = (gx_str){NULL, 0};
    e.timestamp = str_of("yesterday");
    CHECK_CODE(gx_audit_entry_hash(&e, hash), GX_ERROR_ENTRY_BAD_TIMESTAMP);
    e.scope_count = GX_MAX_ENTRY_SCOPES + 1;
    CHECK_CODE(gx_audit_entry_hash(&e, hash), GX_ERROR_INVALID_ARGUMENT);

    gx_signing_key_wipe(&key);
    CHECK_CODE(gx_audit_sign_line(&key, &e, line, sizeof line, &len, NULL),
               GX_ERROR_NOT_INITIALIZED);
}

/* ---- misuse: every bad argument is a code, never a crash ---- */

static void misuse_before_heap(void) {
    static gx_jwks set;
    CHECK_CODE(gx_jwks_parse(&set, (const uint8_t *)"{\"keys\":[]}", 11),
               GX_ERROR_HEAP_NOT_INITIALIZED);
    CHECK_CODE(gx_heap_init(NULL, 4096), GX_ERROR_NULL_ARGUMENT);
    CHECK_CODE(gx_heap_init(arena, 16), GX_ERROR_HEAP_TOO_SMALL);
    CHECK_CODE(gx_heap_init(arena, sizeof arena), GX_ERROR_OK);
    CHECK_CODE(gx_heap_init(arena, sizeof arena), GX_ERROR_HEAP_ALREADY_INITIALIZED);
}

static void misuse(void) {
    static gx_jwks zeroed, set;
    static gx_chain chain;
    static gx_verifying_key no_key;
    uint8_t small[16];
    const char *jwks = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\"}]}";

    CHECK(strcmp(gx_error_code_str(GX_ERROR_OK), "OK") == 0, "OK string");
    CHECK(strcmp(gx_error_code_str(GX_ERROR_TOKEN_EXPIRED), "TOKEN_EXPIRED") == 0, "string");
    CHECK(strcmp(gx_error_code_str(GX_ERROR_SEQ_GAP), "SEQ_GAP") == 0, "SEQ_GAP string");
    CHECK(strcmp(gx_error_code_str(-7), "UNKNOWN") == 0, "unknown code string");

    CHECK_CODE(gx_verify(&zeroed, NULL, (const uint8_t *)"a.b.c", 5, 0, small, sizeof small,
                         &grant),
               GX_ERROR_NOT_INITIALIZED);
    CHECK_CODE(gx_verify(NULL, NULL, NULL, 0, 0, NULL, 0, &grant), GX_ERROR_NULL_ARGUMENT);
    CHECK(gx_jwks_usable_keys(&zeroed) == 0, "usable keys of zeroed storage");
    gx_jwks_free(&zeroed);
    gx_jwks_free(NULL);

    CHECK_CODE(gx_jwks_parse(&set, (const uint8_t *)"not json", 8), GX_ERROR_MALFORMED_JWKS);
    CHECK_CODE(gx_jwks_parse(&set, (const uint8_t *)"{}", 2), GX_ERROR_MISSING_KEYS);
    CHECK_CODE(gx_jwks_parse(&set, (const uint8_t *)jwks, strlen(jwks)), GX_ERROR_OK);
    CHECK(gx_jwks_usable_keys(&set) == 0, "an EC key is not usable");
    CHECK_CODE(gx_verify(&set, NULL, (const uint8_t *)"a.b.c", 5, 0, decode_buf,
                         sizeof decode_buf, &grant),
               GX_ERROR_MALFORMED_TOKEN);
    CHECK_CODE(gx_verify(&set, NULL, (const uint8_t *)"\xff.b.c", 5, 0, decode_buf,
                         sizeof decode_buf, &grant),
               GX_ERROR_MALFORMED_TOKEN);
    gx_jwks_free(&set);
    CHECK_CODE(gx_verify(&set, NULL, (const uint8_t *)"a.b.c", 5, 0, decode_buf,
                         sizeof decode_buf, &grant),
               GX_ERROR_NOT_INITIALIZED);

    CHECK_CODE(gx_chain_init(&chain, &no_key, NULL, 0), GX_ERROR_NOT_INITIALIZED);
    CHECK_CODE(gx_chain_push_line(&chain, (const uint8_t *)"{}", 2), GX_ERROR_NOT_INITIALIZED);
    CHECK_CODE(gx_verifying_key_from_spki_pem((const uint8_t *)"nope", 4, &no_key),
               GX_ERROR_KEY_BAD_PEM);
    CHECK_CODE(gx_signing_key_from_seed(NULL, NULL), GX_ERROR_NULL_ARGUMENT);
}

/* A token verified with too small a decode buffer, and with a tampered signature. */
static void buffers_and_tampering(const uint8_t *token, size_t len, gx_jwks *set,
                                  uint64_t now_ms) {
    uint8_t small[64];
    uint8_t *copy = malloc(len);
    if (!copy) abort();
    memcpy(copy, token, len);
    CHECK_CODE(gx_verify(set, NULL, token, len, now_ms, small, sizeof small, &grant),
               GX_ERROR_TOKEN_TOO_LARGE);
    copy[len - 40] = copy[len - 40] == 'A' ? 'B' : 'A';
    CHECK_CODE(gx_verify(set, NULL, copy, len, now_ms, decode_buf, sizeof decode_buf, &grant),
               GX_ERROR_BAD_SIGNATURE);
    free(copy);
}

int main(int argc, char **argv) {
    blob vectors;
    char *line, *next;
    char *tampered_token = NULL;
    gx_jwks *tampered_set = NULL;
    uint64_t tampered_now = 0;
    if (argc != 3) {
        fprintf(stderr, "usage: gx_test <vectors.txt> <chain-out.jsonl>\n");
        return 2;
    }
    misuse_before_heap();
    misuse();
    vectors = read_file(argv[1]);
    for (line = (char *)vectors.bytes; line && *line; line = next) {
        char *f[12];
        size_t n;
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        n = split(line, f, 12);
        if (f[0][0] == 'K' && n == 3) {
            blob json = unhex(f[2], strlen(f[2]));
            gx_error err;
            if (set_count == MAX_SETS) abort();
            strncpy(set_names[set_count], f[1], sizeof set_names[0] - 1);
            err = gx_jwks_parse(&sets[set_count], json.bytes, json.len);
            CHECK_CODE(err, GX_ERROR_OK);
            set_count++;
            free(json.bytes);
        } else if (f[0][0] == 'C' && n == 10) {
            if (strcmp(f[1], "valid_rs256_2048") == 0) {
                tampered_token = f[4];
                tampered_set = find_set(f[2]);
                tampered_now = strtoull(f[3], NULL, 10);
            }
            run_case(f);
        } else if (f[0][0] == 'A' && n == 5) {
            verify_chain(f);
        } else {
            CHECK(0, "bad vector line starting %.20s", f[0]);
        }
    }
    CHECK(tampered_token != NULL && tampered_set != NULL, "no valid_rs256_2048 case");
    if (tampered_token && tampered_set) {
        blob t = unhex(tampered_token, strlen(tampered_token));
        buffers_and_tampering(t.bytes, t.len, tampered_set, tampered_now);
        free(t.bytes);
    }
    write_chain(argv[2]);
    {
        size_t i;
        for (i = 0; i < set_count; i++) gx_jwks_free(&sets[i]);
    }
    printf("GX-METRIC heap_peak_bytes=%lu\n", (unsigned long)gx_heap_peak());
    printf("GX-METRIC heap_used_after_free_bytes=%lu\n", (unsigned long)gx_heap_used());
    CHECK(gx_heap_used() == 0, "arena memory left after freeing every key set");
    free(vectors.bytes);
    if (failures) {
        printf("GX-C-TEST FAIL %d\n", failures);
        return 1;
    }
    printf("GX-C-TEST PASS\n");
    return 0;
}
