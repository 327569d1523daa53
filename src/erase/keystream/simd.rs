//! The in-register AES-128-CTR generators: counters are built in registers, encrypted with
//! several registers in flight, and stored (or compared) straight away, so each byte of the
//! buffer is touched once.
//!
//! One kernel ([`fill`], [`matches`]) is written once, generic over a register width
//! ([`Width`]), and compiled three times inside `#[target_feature]` functions:
//!
//! * [`Vaes512`]: AVX-512 and VAES, four blocks to a 512-bit register, 4 registers in flight;
//! * [`Vaes256`]: AVX2 and VAES, two blocks to a 256-bit register, 8 registers in flight;
//! * [`AesNi`]: AES-NI on 128-bit SSE registers, one block to a register, 8 in flight.
//!
//! The kernel is safe code. Unsafe code is confined to the leaves: a width's type is a witness
//! that the CPU has its instructions (its only constructor is `detect`, which checks each
//! feature at runtime), so its methods may run the intrinsics in `unsafe` blocks; the
//! `#[target_feature]` entry points that compile the kernel for a width enable exactly the
//! features `detect` checked (one list in the `generator!` macro serves both) and are called
//! only through a witness. Loads and stores cut their slice to the register's size first.

use std::arch::x86_64::*;

use zeroize::Zeroizing;

use super::{GROUP, Generator};

/// The expanded AES-128 key: the 11 round keys.
pub type RoundKeys = [[u8; 16]; 11];

/// One generator for one key: the witness of its CPU features and the round keys.
pub struct Fast {
    engine: Engine,
    // Boxed so that moving a keystream never leaves a copy of the round keys behind.
    rk: Box<Zeroizing<RoundKeys>>,
}

impl Fast {
    /// Generator `g` for `key`, if it is an in-register one and this CPU can run it.
    pub fn new(g: Generator, key: &[u8; 16]) -> Option<Fast> {
        let engine = match g {
            Generator::Vaes512 => Engine::Vaes512(Vaes512::detect()?),
            Generator::Vaes256 => Engine::Vaes256(Vaes256::detect()?),
            Generator::AesNi => Engine::AesNi(AesNi::detect()?),
            Generator::Portable => return None,
        };
        let rk = Box::new(match engine {
            Engine::Vaes512(w) => w.round_keys(key),
            Engine::Vaes256(w) => w.round_keys(key),
            Engine::AesNi(w) => w.round_keys(key),
        });
        Some(Fast { engine, rk })
    }

    /// Which generator this is.
    pub fn generator(&self) -> Generator {
        match self.engine {
            Engine::Vaes512(_) => Generator::Vaes512,
            Engine::Vaes256(_) => Generator::Vaes256,
            Engine::AesNi(_) => Generator::AesNi,
        }
    }

    /// Keystream blocks `counter..` into `out` (whole groups; the low 64 bits of the counter
    /// must not wrap over them).
    pub fn fill(&self, counter: u128, out: &mut [u8]) {
        debug_assert!(out.len().is_multiple_of(GROUP));
        match self.engine {
            Engine::Vaes512(w) => w.fill(&self.rk, counter, out),
            Engine::Vaes256(w) => w.fill(&self.rk, counter, out),
            Engine::AesNi(w) => w.fill(&self.rk, counter, out),
        }
    }

    /// Whether `data` (whole groups, as for [`Fast::fill`]) equals keystream blocks
    /// `counter..`.
    pub fn matches(&self, counter: u128, data: &[u8]) -> bool {
        debug_assert!(data.len().is_multiple_of(GROUP));
        match self.engine {
            Engine::Vaes512(w) => w.matches(&self.rk, counter, data),
            Engine::Vaes256(w) => w.matches(&self.rk, counter, data),
            Engine::AesNi(w) => w.matches(&self.rk, counter, data),
        }
    }
}

/// The witness of the generator a keystream uses.
#[derive(Clone, Copy)]
enum Engine {
    Vaes512(Vaes512),
    Vaes256(Vaes256),
    AesNi(AesNi),
}

/// The operations of one register width that the kernel uses. Lanes are 128 bits, one AES
/// block each; a counter lane holds its 128-bit counter as two little-endian 64-bit halves,
/// [low, high].
///
/// A value of an implementing type exists only when the CPU has the width's instructions (see
/// the module documentation), which is what makes each method safe to call.
trait Width: Copy {
    /// The register.
    type R: Copy;
    /// AES blocks (128-bit lanes) in one register.
    const BLOCKS: usize;
    /// Bytes in one register.
    const BYTES: usize = 16 * Self::BLOCKS;

    /// `k` in every lane.
    fn splat(self, k: &[u8; 16]) -> Self::R;
    /// Whether every bit of `a` is zero.
    fn is_zero(self, a: Self::R) -> bool;
    fn xor(self, a: Self::R, b: Self::R) -> Self::R;
    fn or(self, a: Self::R, b: Self::R) -> Self::R;
    fn zero(self) -> Self::R;
    /// Lane-wise sums of the 64-bit halves.
    fn add64(self, a: Self::R, b: Self::R) -> Self::R;
    /// Bytes of `a` picked within each lane by the bytes of `control` (PSHUFB).
    fn shuffle8(self, a: Self::R, control: Self::R) -> Self::R;
    /// One AES round in every lane (AESENC).
    fn aesenc(self, x: Self::R, k: Self::R) -> Self::R;
    /// The last AES round in every lane (AESENCLAST).
    fn aesenclast(self, x: Self::R, k: Self::R) -> Self::R;
    /// The first [`Width::BYTES`] bytes of `src` (panics if it is shorter).
    fn load(self, src: &[u8]) -> Self::R;
    /// `x` into the first [`Width::BYTES`] bytes of `dst` (panics if it is shorter).
    fn store(self, dst: &mut [u8], x: Self::R);
}

/// `n` added to the low half of every counter lane of `c`.
#[inline(always)]
fn add<W: Width>(w: W, c: W::R, n: u64) -> W::R {
    w.add64(c, w.splat(&u128::from(n).to_le_bytes()))
}

/// The counters `counter, counter + 1, ...` in the lanes of one register (the low halves must
/// not wrap within them).
#[inline(always)]
fn first_counters<W: Width>(w: W, counter: u128) -> W::R {
    let mut lanes = [0u8; 64];
    for (i, lane) in lanes.chunks_exact_mut(16).take(W::BLOCKS).enumerate() {
        let c = (counter >> 64 << 64) | u128::from((counter as u64).wrapping_add(i as u64));
        lane.copy_from_slice(&c.to_le_bytes());
    }
    w.load(&lanes)
}

/// Encrypts `N` registers of counters (AES-128: whitening, 9 rounds, last round).
#[inline(always)]
fn encrypt<W: Width, const N: usize>(w: W, keys: &[W::R; 11], c: &[W::R; N]) -> [W::R; N] {
    // Reversing each lane's bytes turns a little-endian counter into its big-endian block.
    let reverse = w.splat(&REVERSE);
    let mut b = *c;
    for x in &mut b {
        *x = w.xor(w.shuffle8(*x, reverse), keys[0]);
    }
    for k in &keys[1..10] {
        for x in &mut b {
            *x = w.aesenc(*x, *k);
        }
    }
    for x in &mut b {
        *x = w.aesenclast(*x, keys[10]);
    }
    b
}

/// Calls `each` with the keystream of every step of `len` bytes (`N` registers of blocks)
/// from counter `counter` on; `len` is a multiple of a step.
#[inline(always)]
fn steps<W: Width, const N: usize>(
    w: W,
    rk: &RoundKeys,
    counter: u128,
    len: usize,
    mut each: impl FnMut(usize, &[W::R; N]),
) {
    let step = N * W::BYTES;
    debug_assert!(GROUP.is_multiple_of(step) && len.is_multiple_of(step));
    let keys: [W::R; 11] = std::array::from_fn(|i| w.splat(&rk[i]));
    // One register of counters is kept; the step's others are derived from it (fewer live
    // registers: SSE has only 16).
    let mut first = first_counters(w, counter);
    for at in (0..len).step_by(step) {
        let c: [W::R; N] = std::array::from_fn(|i| add(w, first, (i * W::BLOCKS) as u64));
        first = add(w, first, (N * W::BLOCKS) as u64);
        each(at, &encrypt(w, &keys, &c));
    }
}

/// The kernel: keystream blocks `counter..` into `out`.
#[inline(always)]
fn fill<W: Width, const N: usize>(w: W, rk: &RoundKeys, counter: u128, out: &mut [u8]) {
    let step = N * W::BYTES;
    steps::<W, N>(w, rk, counter, out.len(), |at, b| {
        for (x, dst) in b.iter().zip(out[at..at + step].chunks_exact_mut(W::BYTES)) {
            w.store(dst, *x);
        }
    });
}

/// The kernel: whether `data` equals keystream blocks `counter..` (every byte is compared;
/// the differences are gathered in one register).
#[inline(always)]
fn matches<W: Width, const N: usize>(w: W, rk: &RoundKeys, counter: u128, data: &[u8]) -> bool {
    let step = N * W::BYTES;
    let mut diff = w.zero();
    steps::<W, N>(w, rk, counter, data.len(), |at, b| {
        for (x, src) in b.iter().zip(data[at..at + step].chunks_exact(W::BYTES)) {
            diff = w.or(diff, w.xor(w.load(src), *x));
        }
    });
    w.is_zero(diff)
}

/// A width's witness type, its detection and its entry points, from one list of CPU features
/// (AES-NI, for the key schedule, is always in it).
macro_rules! generator {
    ($(#[$doc:meta])* $name:ident, $regs:literal registers in flight, [$($feature:tt),+]) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name(());

        impl $name {
            /// The witness, if this CPU has every feature the generator uses.
            fn detect() -> Option<$name> {
                (is_x86_feature_detected!("aes") $(&& is_x86_feature_detected!($feature))+)
                    .then_some($name(()))
            }

            fn round_keys(self, key: &[u8; 16]) -> Zeroizing<RoundKeys> {
                // SAFETY: `self` exists, so `detect` found AES-NI on this CPU.
                unsafe { expand(key) }
            }

            #[target_feature(enable = "aes")]
            $(#[target_feature(enable = $feature)])+
            fn fill_compiled(self, rk: &RoundKeys, counter: u128, out: &mut [u8]) {
                fill::<Self, $regs>(self, rk, counter, out)
            }

            #[target_feature(enable = "aes")]
            $(#[target_feature(enable = $feature)])+
            fn matches_compiled(self, rk: &RoundKeys, counter: u128, data: &[u8]) -> bool {
                matches::<Self, $regs>(self, rk, counter, data)
            }

            fn fill(self, rk: &RoundKeys, counter: u128, out: &mut [u8]) {
                // SAFETY: `self` exists, so `detect` found every feature enabled there.
                unsafe { self.fill_compiled(rk, counter, out) }
            }

            fn matches(self, rk: &RoundKeys, counter: u128, data: &[u8]) -> bool {
                // SAFETY: as in `fill`.
                unsafe { self.matches_compiled(rk, counter, data) }
            }
        }
    };
}

generator!(
    /// VAES on 512-bit registers (AVX-512F, AVX-512BW, VAES).
    Vaes512, 4 registers in flight, ["avx512f", "avx512bw", "vaes"]
);
generator!(
    /// VAES on 256-bit registers (AVX2, VAES).
    Vaes256, 8 registers in flight, ["avx2", "vaes"]
);
generator!(
    /// AES-NI on 128-bit registers (SSSE3 for the byte shuffle).
    AesNi, 8 registers in flight, ["ssse3"]
);

/// 16 bytes as a 128-bit register (SSE2, which every x86-64 CPU has).
#[inline(always)]
fn key128(k: &[u8; 16]) -> __m128i {
    // SAFETY: `k` is 16 readable bytes; the load has no alignment requirement.
    unsafe { _mm_loadu_si128(k.as_ptr().cast()) }
}

/// The methods of [`Width`] that are one intrinsic each, given the intrinsics' names.
///
/// SAFETY, for every `unsafe` block this expands to: the impl it is in is for a witness type
/// whose `detect` found every feature these intrinsics need (see each impl); the loads and
/// stores have no alignment requirement and stay within the slice, cut to the register's size
/// first.
macro_rules! one_intrinsic_each {
    ($r:ty: xor $xor:ident, or $or:ident, zero $zero:ident, add64 $add:ident,
     shuffle8 $shuffle:ident, aesenc $enc:ident, aesenclast $last:ident,
     load $load:ident, store $store:ident) => {
        #[inline(always)]
        fn xor(self, a: $r, b: $r) -> $r {
            unsafe { $xor(a, b) }
        }
        #[inline(always)]
        fn or(self, a: $r, b: $r) -> $r {
            unsafe { $or(a, b) }
        }
        #[inline(always)]
        fn zero(self) -> $r {
            unsafe { $zero() }
        }
        #[inline(always)]
        fn add64(self, a: $r, b: $r) -> $r {
            unsafe { $add(a, b) }
        }
        #[inline(always)]
        fn shuffle8(self, a: $r, control: $r) -> $r {
            unsafe { $shuffle(a, control) }
        }
        #[inline(always)]
        fn aesenc(self, x: $r, k: $r) -> $r {
            unsafe { $enc(x, k) }
        }
        #[inline(always)]
        fn aesenclast(self, x: $r, k: $r) -> $r {
            unsafe { $last(x, k) }
        }
        #[inline(always)]
        fn load(self, src: &[u8]) -> $r {
            let src = &src[..Self::BYTES];
            unsafe { $load(src.as_ptr().cast()) }
        }
        #[inline(always)]
        fn store(self, dst: &mut [u8], x: $r) {
            let dst = &mut dst[..Self::BYTES];
            unsafe { $store(dst.as_mut_ptr().cast(), x) }
        }
    };
}

// SAFETY, for every `unsafe` block in this impl: a `Vaes512` exists only when `detect` found
// AES-NI, AVX-512F, AVX-512BW and VAES, the only features these intrinsics need.
impl Width for Vaes512 {
    type R = __m512i;
    const BLOCKS: usize = 4;

    #[inline(always)]
    fn splat(self, k: &[u8; 16]) -> __m512i {
        unsafe { _mm512_broadcast_i32x4(key128(k)) }
    }
    #[inline(always)]
    fn is_zero(self, a: __m512i) -> bool {
        unsafe { _mm512_test_epi64_mask(a, a) == 0 }
    }
    one_intrinsic_each!(__m512i: xor _mm512_xor_si512, or _mm512_or_si512,
        zero _mm512_setzero_si512, add64 _mm512_add_epi64, shuffle8 _mm512_shuffle_epi8,
        aesenc _mm512_aesenc_epi128, aesenclast _mm512_aesenclast_epi128,
        load _mm512_loadu_si512, store _mm512_storeu_si512);
}

// SAFETY, for every `unsafe` block in this impl: a `Vaes256` exists only when `detect` found
// AES-NI, AVX2 and VAES, the only features these intrinsics need.
impl Width for Vaes256 {
    type R = __m256i;
    const BLOCKS: usize = 2;

    #[inline(always)]
    fn splat(self, k: &[u8; 16]) -> __m256i {
        unsafe { _mm256_broadcastsi128_si256(key128(k)) }
    }
    #[inline(always)]
    fn is_zero(self, a: __m256i) -> bool {
        unsafe { _mm256_testz_si256(a, a) == 1 }
    }
    one_intrinsic_each!(__m256i: xor _mm256_xor_si256, or _mm256_or_si256,
        zero _mm256_setzero_si256, add64 _mm256_add_epi64, shuffle8 _mm256_shuffle_epi8,
        aesenc _mm256_aesenc_epi128, aesenclast _mm256_aesenclast_epi128,
        load _mm256_loadu_si256, store _mm256_storeu_si256);
}

// SAFETY, for every `unsafe` block in this impl: an `AesNi` exists only when `detect` found
// AES-NI and SSSE3 (SSE2 every x86-64 CPU has), the only features these intrinsics need.
impl Width for AesNi {
    type R = __m128i;
    const BLOCKS: usize = 1;

    #[inline(always)]
    fn splat(self, k: &[u8; 16]) -> __m128i {
        key128(k)
    }
    #[inline(always)]
    fn is_zero(self, a: __m128i) -> bool {
        unsafe { _mm_movemask_epi8(_mm_cmpeq_epi8(a, _mm_setzero_si128())) == 0xffff }
    }
    one_intrinsic_each!(__m128i: xor _mm_xor_si128, or _mm_or_si128,
        zero _mm_setzero_si128, add64 _mm_add_epi64, shuffle8 _mm_shuffle_epi8,
        aesenc _mm_aesenc_si128, aesenclast _mm_aesenclast_si128,
        load _mm_loadu_si128, store _mm_storeu_si128);
}

/// The shuffle control that reverses the bytes of a 128-bit lane (byte `i` takes byte
/// `15 - i`).
const REVERSE: [u8; 16] = [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0];

/// The AES-128 key schedule (FIPS 197 5.2) with AESKEYGENASSIST.
#[target_feature(enable = "aes")]
fn expand(key: &[u8; 16]) -> Zeroizing<RoundKeys> {
    #[target_feature(enable = "aes")]
    fn next(k: __m128i, assist: __m128i) -> __m128i {
        let t = _mm_shuffle_epi32::<0xff>(assist);
        let mut k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
        k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
        k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
        _mm_xor_si128(k, t)
    }
    let mut rk = [_mm_setzero_si128(); 11];
    rk[0] = key128(key);
    macro_rules! round {
        ($i:literal, $rcon:literal) => {
            rk[$i] = next(rk[$i - 1], _mm_aeskeygenassist_si128::<$rcon>(rk[$i - 1]));
        };
    }
    round!(1, 0x01);
    round!(2, 0x02);
    round!(3, 0x04);
    round!(4, 0x08);
    round!(5, 0x10);
    round!(6, 0x20);
    round!(7, 0x40);
    round!(8, 0x80);
    round!(9, 0x1b);
    round!(10, 0x36);
    let mut out = Zeroizing::new([[0u8; 16]; 11]);
    for (o, k) in out.iter_mut().zip(&rk) {
        // SAFETY: `o` is 16 writable bytes; the store has no alignment requirement.
        unsafe { _mm_storeu_si128(o.as_mut_ptr().cast(), *k) };
    }
    out
}
