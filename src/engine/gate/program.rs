//! The gate: a tiny static program (Linux x86-64, no libc) that a pre-started step container
//! runs first. `build.rs` compiles this file on its own with `rustc` and `taskrun` embeds the
//! result (see `engine::gate`); it is not a module of the crate.
//!
//! Invoked as `gate PROGRAM ARGS…` with the container's stdin open, it:
//! 1. blocks reading one byte from stdin: taskrun writes it when the step is due (EOF or an
//!    error ends the container with code 125 without running anything);
//! 2. puts `/dev/null` on stdin, as a container started without `-i` has it;
//! 3. finds PROGRAM the way runc does (Go's `exec.LookPath` over the container's `PATH`: a name
//!    with a `/` is used as it is, otherwise the first `PATH` entry holding a non-directory with an
//!    execute bit; an empty entry is `.`) and replaces itself with it through `execve`, with the
//!    same arguments and environment. From then on the container's process is the step's own.
//! 4. When that fails it writes [`FAILED`] to stderr and exits 127; taskrun then runs the step
//!    the ordinary way, so the engine reports the error in its own words.

#![no_std]
#![no_main]

use core::arch::{asm, global_asm};

/// The line written to stderr when the program cannot be executed (kept in step with
/// `engine::gate::FAILED`).
const FAILED: &[u8] = b"\x01taskrun-gate: cannot execute the step's program\n";
/// `PATH` when the environment has none: empty, so nothing is found (as with Go's `LookPath`;
/// the engine always sets one).
const NO_PATH: &[u8] = b"";

const SYS_READ: usize = 0;
const SYS_WRITE: usize = 1;
const SYS_OPEN: usize = 2;
const SYS_CLOSE: usize = 3;
const SYS_STAT: usize = 4;
const SYS_DUP2: usize = 33;
const SYS_EXECVE: usize = 59;
const SYS_EXIT: usize = 60;
const EINTR: isize = -4;
const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const PATH_MAX: usize = 4096;

/// The candidate path being tried (in .bss: no stack array to zero, so no `memset`).
static mut CANDIDATE: [u8; PATH_MAX] = [0; PATH_MAX];

global_asm!(
    ".globl _start",
    "_start:",
    "mov rdi, rsp",
    "and rsp, -16",
    "call gate_main",
    "ud2",
);

/// Referenced by the precompiled `core`; never called (panics abort).
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    fail()
}

unsafe fn syscall3(n: usize, a: usize, b: usize, c: usize) -> isize {
    let ret: isize;
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

fn exit(code: usize) -> ! {
    unsafe { syscall3(SYS_EXIT, code, 0, 0) };
    #[allow(clippy::empty_loop)]
    loop {}
}

fn fail() -> ! {
    unsafe { syscall3(SYS_WRITE, 2, FAILED.as_ptr() as usize, FAILED.len()) };
    exit(127)
}

/// Length of a NUL-terminated string.
unsafe fn c_len(s: *const u8) -> usize {
    let mut n = 0;
    while unsafe { core::ptr::read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
}

/// Whether `path` (NUL-terminated) names a non-directory with an execute bit.
unsafe fn executable(path: *const u8) -> bool {
    // struct stat is 144 bytes on x86-64; st_mode is the u32 at byte 24.
    let mut st = core::mem::MaybeUninit::<[u64; 18]>::uninit();
    if unsafe { syscall3(SYS_STAT, path as usize, st.as_mut_ptr() as usize, 0) } != 0 {
        return false;
    }
    let mode = unsafe { st.assume_init() }[3] as u32;
    mode & S_IFMT != S_IFDIR && mode & 0o111 != 0
}

#[unsafe(no_mangle)]
unsafe extern "C" fn gate_main(sp: *const usize) -> ! {
    unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        let envp = argv.add(argc + 1);

        let mut byte = 0u8;
        loop {
            match syscall3(SYS_READ, 0, &mut byte as *mut u8 as usize, 1) {
                1 => break,
                EINTR => continue,
                _ => exit(125),
            }
        }
        let null = syscall3(SYS_OPEN, c"/dev/null".as_ptr() as usize, 0, 0);
        if null > 0 {
            syscall3(SYS_DUP2, null as usize, 0, 0);
            syscall3(SYS_CLOSE, null as usize, 0, 0);
        } else if null < 0 {
            syscall3(SYS_CLOSE, 0, 0, 0);
        }
        if argc < 2 {
            fail();
        }
        let args = argv.add(1);
        let file = *args;
        let file_len = c_len(file);
        let mut has_slash = false;
        for i in 0..file_len {
            has_slash |= core::ptr::read_volatile(file.add(i)) == b'/';
        }
        if has_slash {
            if executable(file) {
                syscall3(SYS_EXECVE, file as usize, args as usize, envp as usize);
            }
            fail();
        }

        // PATH from the environment.
        let mut path: (*const u8, usize) = (NO_PATH.as_ptr(), 0);
        let mut e = envp;
        while !(*e).is_null() {
            let entry = *e;
            if *entry == b'P'
                && *entry.add(1) == b'A'
                && *entry.add(2) == b'T'
                && *entry.add(3) == b'H'
                && *entry.add(4) == b'='
            {
                let value = entry.add(5);
                path = (value, c_len(value));
            }
            e = e.add(1);
        }

        let buf = &mut *(&raw mut CANDIDATE);
        let (value, len) = path;
        let mut start = 0;
        while start <= len && len > 0 {
            let mut end = start;
            while end < len && core::ptr::read_volatile(value.add(end)) != b':' {
                end += 1;
            }
            // dir + "/" + file + NUL, with an empty dir meaning ".".
            let mut n = 0;
            if end == start {
                buf[0] = b'.';
                n = 1;
            } else if end - start < PATH_MAX {
                for i in start..end {
                    buf[n] = core::ptr::read_volatile(value.add(i));
                    n += 1;
                }
            } else {
                start = end + 1;
                continue;
            }
            if n + 1 + file_len + 1 <= PATH_MAX {
                buf[n] = b'/';
                n += 1;
                for i in 0..file_len {
                    buf[n] = core::ptr::read_volatile(file.add(i));
                    n += 1;
                }
                buf[n] = 0;
                if executable(buf.as_ptr()) {
                    syscall3(SYS_EXECVE, buf.as_ptr() as usize, args as usize, envp as usize);
                    fail();
                }
            }
            start = end + 1;
        }
        fail()
    }
}
