/* Board support for QEMU mps2-an386 (Cortex-M4F): vector table, reset, SysTick as the
 * instruction counter, semihosting output and exit. What a vendor SDK's startup file
 * and retarget layer would provide; no C library start-up code is used. */
#include <stdint.h>

#include "board.h"

extern uint32_t __sidata, __sdata, __edata, __sbss, __ebss, _stack_start;
int main(void);

/* ---- semihosting (ARM DUI 0471, bkpt 0xAB in Thumb state) ---- */

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUN_TIME_ERROR 0x20023

static uint32_t semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_print(const char *text) { semihost(SYS_WRITE0, text); }

void board_exit(int ok) {
    /* On 32-bit ARM the reason code is passed directly: QEMU exits with status 0 for
     * ApplicationExit, 1 for anything else. */
    semihost(SYS_EXIT, (const void *)(uintptr_t)(ok ? ADP_STOPPED_APPLICATION_EXIT
                                                   : ADP_STOPPED_RUN_TIME_ERROR));
    for (;;) __asm__ volatile("wfi");
}

/* gx's panic handler (feature panic-handler) calls abort(); none is expected. */
void abort(void) {
    board_print("GX-FIRMWARE FAIL abort\n");
    board_exit(0);
    for (;;) {
    }
}

/* ---- SysTick: 24 bits on the core clock, extended by counting wraps ---- */

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define CPACR (*(volatile uint32_t *)0xE000ED88u)

static volatile uint32_t wraps;

static void systick_handler(void) { wraps++; }

uint64_t board_ticks(void) {
    for (;;) {
        uint32_t w = wraps;
        uint32_t cur = SYST_CVR;
        if (wraps == w) return ((uint64_t)w + 1) * 0x01000000u - cur;
    }
}

/* A loop of exactly two instructions per iteration (decrement, branch if not zero). */
__attribute__((noinline)) static void spin(uint32_t n) {
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n));
}

uint64_t board_calibrate(void) {
    const uint32_t iters = 500000;
    uint64_t start = board_ticks();
    uint64_t ticks;
    spin(iters);
    ticks = board_ticks() - start;
    return ticks ? 2ull * iters * 1000 / ticks : 0;
}

uint32_t board_stack_pointer(void) {
    uint32_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

uintptr_t board_stack_top(void) { return (uintptr_t)&_stack_start; }
uintptr_t board_bss_end(void) { return (uintptr_t)&__ebss; }

/* ---- reset and faults ---- */

static void hard_fault_handler(void) {
    board_print("GX-FIRMWARE FAIL hard fault\n");
    board_exit(0);
}

static void default_handler(void) {
    board_print("GX-FIRMWARE FAIL unexpected exception\n");
    board_exit(0);
}

void reset_handler(void) {
    uint32_t *src = &__sidata, *dst = &__sdata;
    while (dst < &__edata) *dst++ = *src++;
    for (dst = &__sbss; dst < &__ebss; dst++) *dst = 0;
    /* The hard-float ABI: enable CP10/CP11 before any floating-point instruction. */
    CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb");
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 0x7; /* core clock, interrupt on wrap, enabled */
    board_exit(main() == 0);
}

__attribute__((section(".vector_table"), used)) static const void *const vectors[16] = {
    &_stack_start,     (const void *)reset_handler,   (const void *)default_handler,
    (const void *)hard_fault_handler, (const void *)default_handler, (const void *)default_handler,
    (const void *)default_handler,    0, 0, 0, 0,
    (const void *)default_handler,    (const void *)default_handler, 0,
    (const void *)default_handler,    (const void *)systick_handler,
};

/* The precompiled Rust `core` carries ARM EHABI references to the unwinder's personality
 * routines. Nothing unwinds here (panic = "abort", C without exceptions); these stubs keep
 * libgcc's unwinder, and the unwind tables it needs, out of the image. */
void __aeabi_unwind_cpp_pr0(void);
void __aeabi_unwind_cpp_pr1(void);
void __aeabi_unwind_cpp_pr2(void);
void __aeabi_unwind_cpp_pr0(void) {}
void __aeabi_unwind_cpp_pr1(void) {}
void __aeabi_unwind_cpp_pr2(void) {}
