/* The fixed vectors of the firmware, straight from fixtures/ (the same files the Rust
 * firmware includes with include_bytes!). Assembled with -I<repository root>. */
    .section .rodata.gx_fixtures, "a"
    .balign 4
    .global gx_fixture_snapshot
    .global gx_fixture_snapshot_end
gx_fixture_snapshot:
    .incbin "fixtures/tokens/snapshot.json"
gx_fixture_snapshot_end:
    .balign 4
    .global gx_fixture_token
    .global gx_fixture_token_end
gx_fixture_token:
    .incbin "fixtures/tokens/rs256_2048.jwt"
gx_fixture_token_end:
    /* No executable stack (keeps the linker from warning about this object). */
    .section .note.GNU-stack, "", %progbits
