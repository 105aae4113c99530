/* Board support the firmware example needs: output, exit, the instruction counter and
 * the stack bounds (board.c, for QEMU mps2-an386). */
#ifndef GX_FIRMWARE_BOARD_H
#define GX_FIRMWARE_BOARD_H

#include <stdint.h>

/* Writes a NUL-terminated string to the host (semihosting). */
void board_print(const char *text);
/* Ends the QEMU run: exit status 0 when ok, 1 otherwise. */
void board_exit(int ok);
/* SysTick ticks since reset (core clock; 40 instructions each under -icount shift=0). */
uint64_t board_ticks(void);
/* Instructions per tick, times 1000, measured on a loop of known length. */
uint64_t board_calibrate(void);
uint32_t board_stack_pointer(void);
/* The initial stack pointer, and the end of .bss (the stack may not grow past it). */
uintptr_t board_stack_top(void);
uintptr_t board_bss_end(void);

#endif
