//! The random pattern's bytes: AES-128 in counter mode, seekable to any drive offset.
//!
//! Byte `o` of the drive is byte `o % 16` of `AES(key, IV + o / 16)`, the counter block being a
//! 128-bit big-endian integer that wraps (NIST SP 800-38A CTR). Certificates record this format
//! and verification recomputes it, so every generator here produces exactly those bytes.
//!
//! The generator is chosen once per keystream, the widest the CPU has ([`Generator`]):
//!
//! * in-register generators (module `simd`): counters are built in registers, encrypted several
//!   registers at a time, and stored (or compared) straight away, so each byte of the buffer is
//!   touched once. VAES on 512-bit registers (AVX-512), VAES on 256-bit registers (AVX2), or
//!   AES-NI on 128-bit registers, one kernel compiled for each;
//! * the portable generator (the `aes` crate, which picks VAES, AES-NI or a constant-time
//!   software implementation): counter blocks are written into the buffer and encrypted in
//!   place. A wipe uses it only on CPUs without AES-NI; it also does the odd bytes around the
//!   in-register generators' 256-byte groups, and the group over which the counter's low 64
//!   bits wrap.
//!
//! The key lives in memory in zeroize-on-drop buffers (its expanded round keys too). It leaves
//! memory only as a [`KeystreamSecret`] sealed into a checkpoint under a key derived from the
//! station's signing key (see `station::store`), so that an interrupted pass continues with the
//! same keystream and can still be verified in full.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use zeroize::Zeroizing;

/// Errors creating a keystream.
#[derive(Debug, thiserror::Error)]
pub enum KeystreamError {
    #[error("the OS random number generator failed: {0}")]
    Rng(String),
}

/// Bytes the in-register generators handle per step of the run logic (16 blocks).
const GROUP: usize = 256;

/// The code that generates a keystream's bytes. All give the same bytes; they differ in speed
/// and in the CPU features they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// VAES on 512-bit registers (AVX-512F, AVX-512BW, VAES).
    Vaes512,
    /// VAES on 256-bit registers (AVX2, VAES).
    Vaes256,
    /// AES-NI on 128-bit registers (AES-NI, SSSE3).
    AesNi,
    /// The `aes` crate: counter blocks encrypted in place. Runs anywhere (software AES
    /// without AES-NI).
    Portable,
}

impl Generator {
    /// Every generator, widest first: a keystream uses the first one the CPU can run.
    pub const ALL: [Generator; 4] = [
        Generator::Vaes512,
        Generator::Vaes256,
        Generator::AesNi,
        Generator::Portable,
    ];

    /// A short name for reports ("VAES-512", ...).
    pub fn name(self) -> &'static str {
        match self {
            Generator::Vaes512 => "VAES-512",
            Generator::Vaes256 => "VAES-256",
            Generator::AesNi => "AES-NI",
            Generator::Portable => "portable",
        }
    }
}

/// What defines a keystream: the AES-128 key, then the initial counter block. Zeroized on
/// drop; its `Debug` shows no bytes.
#[derive(Clone)]
pub struct KeystreamSecret(Zeroizing<[u8; 32]>);

impl KeystreamSecret {
    /// The secret from its 32 bytes (key, then initial counter block).
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> KeystreamSecret {
        KeystreamSecret(bytes)
    }

    /// The 32 bytes (key, then initial counter block).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn from_parts(key: [u8; 16], iv: [u8; 16]) -> KeystreamSecret {
        let (key, iv) = (Zeroizing::new(key), Zeroizing::new(iv));
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes[..16].copy_from_slice(&key[..]);
        bytes[16..].copy_from_slice(&iv[..]);
        KeystreamSecret(bytes)
    }

    fn key(&self) -> &[u8; 16] {
        self.0.first_chunk().expect("32 bytes begin with 16")
    }

    fn iv(&self) -> u128 {
        u128::from_be_bytes(*self.0.last_chunk().expect("32 bytes end with 16"))
    }
}

impl std::fmt::Debug for KeystreamSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeystreamSecret(..)")
    }
}

/// A seekable keystream: AES-128 in counter mode with a random key and initial counter block.
pub struct Keystream {
    // Boxed: the expanded keys are large, and patterns are moved around by value.
    cipher: Box<aes::Aes128>,
    iv: u128,
    /// The in-register generator and its round keys, when the CPU can run one.
    fast: Option<simd::Fast>,
    secret: KeystreamSecret,
}

impl Keystream {
    /// A fresh keystream keyed from the OS RNG.
    pub fn random() -> Result<Keystream, KeystreamError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..]).map_err(|e| KeystreamError::Rng(e.to_string()))?;
        Ok(Keystream::new(KeystreamSecret(bytes)))
    }

    /// The keystream `secret` defines (a pass continued after an interruption).
    pub fn from_secret(secret: &KeystreamSecret) -> Keystream {
        Keystream::new(secret.clone())
    }

    /// What defines this keystream; only ever stored sealed (see the module docs).
    pub fn secret(&self) -> &KeystreamSecret {
        &self.secret
    }

    /// A keystream with a fixed key (tests and benchmarks only).
    pub fn from_key(key: [u8; 16], iv: [u8; 16]) -> Keystream {
        Keystream::new(KeystreamSecret::from_parts(key, iv))
    }

    /// A keystream with a fixed key, generated by `generator`, or `None` when this CPU cannot
    /// run it (tests and benchmarks only: a wipe always uses the widest one).
    pub fn from_key_with(key: [u8; 16], iv: [u8; 16], generator: Generator) -> Option<Keystream> {
        let secret = KeystreamSecret::from_parts(key, iv);
        let fast = simd::Fast::new(generator, secret.key());
        (generator == Generator::Portable || fast.is_some()).then(|| Keystream::with(secret, fast))
    }

    fn new(secret: KeystreamSecret) -> Keystream {
        let fast = Generator::ALL
            .into_iter()
            .find_map(|g| simd::Fast::new(g, secret.key()));
        Keystream::with(secret, fast)
    }

    fn with(secret: KeystreamSecret, fast: Option<simd::Fast>) -> Keystream {
        Keystream {
            cipher: Box::new(aes::Aes128::new(secret.key().into())),
            iv: secret.iv(),
            fast,
            secret,
        }
    }

    /// The generator this keystream uses.
    pub fn generator(&self) -> Generator {
        self.fast
            .as_ref()
            .map_or(Generator::Portable, simd::Fast::generator)
    }

    /// Writes keystream bytes `[offset, offset + buf.len())` into `buf`.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        let (head, index) = split_head(offset, buf.len());
        let (head_buf, mut rest) = buf.split_at_mut(head);
        if !head_buf.is_empty() {
            let skip = (offset % 16) as usize;
            head_buf.copy_from_slice(&self.block(offset / 16)[skip..skip + head]);
        }
        let mut counter = self.iv.wrapping_add(index as u128);
        if let Some(fast) = &self.fast {
            for run in runs(counter, rest.len() / GROUP) {
                let (now, later) = rest.split_at_mut(run.groups * GROUP);
                if run.fast {
                    fast.fill(counter, now);
                } else {
                    self.portable(counter, now);
                }
                counter = counter.wrapping_add((run.groups * 16) as u128);
                rest = later;
            }
        }
        self.portable(counter, rest);
    }

    /// Whether `data` equals keystream bytes `[offset, offset + data.len())`, computed without
    /// writing the expected bytes anywhere (a full verification's compare).
    pub fn matches(&self, offset: u64, data: &[u8]) -> bool {
        let (head, index) = split_head(offset, data.len());
        let (head_data, mut rest) = data.split_at(head);
        let skip = (offset % 16) as usize;
        if !head_data.is_empty() && head_data != &self.block(offset / 16)[skip..skip + head] {
            return false;
        }
        let mut counter = self.iv.wrapping_add(index as u128);
        if let Some(fast) = &self.fast {
            for run in runs(counter, rest.len() / GROUP) {
                let (now, later) = rest.split_at(run.groups * GROUP);
                let same = if run.fast {
                    fast.matches(counter, now)
                } else {
                    self.portable_matches(counter, now)
                };
                if !same {
                    return false;
                }
                counter = counter.wrapping_add((run.groups * 16) as u128);
                rest = later;
            }
        }
        self.portable_matches(counter, rest)
    }

    /// One keystream block.
    fn block(&self, index: u64) -> [u8; 16] {
        let mut b = aes::Block::from(self.iv.wrapping_add(index as u128).to_be_bytes());
        self.cipher.encrypt_block(&mut b);
        b.into()
    }

    /// Keystream from counter block `counter` on into `buf` (starting at a block boundary):
    /// counter blocks written into the buffer and encrypted in place.
    fn portable(&self, counter: u128, buf: &mut [u8]) {
        let (blocks, tail) = aes::Block::slice_as_chunks_mut(buf);
        for (i, b) in blocks.iter_mut().enumerate() {
            b.copy_from_slice(&counter.wrapping_add(i as u128).to_be_bytes());
        }
        self.cipher.encrypt_blocks(blocks);
        if !tail.is_empty() {
            let mut last =
                aes::Block::from(counter.wrapping_add(blocks.len() as u128).to_be_bytes());
            self.cipher.encrypt_block(&mut last);
            let n = tail.len();
            tail.copy_from_slice(&last[..n]);
        }
    }

    /// Whether `data` (starting at a block boundary) equals the keystream from counter block
    /// `counter` on, generated in cache-sized pieces.
    fn portable_matches(&self, mut counter: u128, data: &[u8]) -> bool {
        let mut want = [0u8; 4096];
        for piece in data.chunks(want.len()) {
            let w = &mut want[..piece.len()];
            self.portable(counter, w);
            if piece != w {
                return false;
            }
            counter = counter.wrapping_add((piece.len() / 16) as u128);
        }
        true
    }
}

/// For a buffer of `len` bytes at drive offset `offset`: the bytes before the first block
/// boundary, and the index of the block at that boundary.
fn split_head(offset: u64, len: usize) -> (usize, u64) {
    let skip = (offset % 16) as usize;
    let head = if skip == 0 { 0 } else { (16 - skip).min(len) };
    (head, offset.div_ceil(16))
}

/// A run of groups, generated by the fast generator or, for the one group over which the low
/// 64 bits of the counter wrap, by the portable one (the fast one adds in 64-bit lanes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    groups: usize,
    fast: bool,
}

/// Cuts `groups` groups of 16 blocks from counter `counter` on into runs (at most three).
fn runs(counter: u128, groups: usize) -> impl Iterator<Item = Run> {
    let before_wrap = (1u128 << 64) - (counter as u64) as u128;
    let whole = (before_wrap / 16).min(groups as u128) as usize;
    let straddles = whole < groups && !before_wrap.is_multiple_of(16);
    let straddling = usize::from(straddles);
    [
        Run {
            groups: whole,
            fast: true,
        },
        Run {
            groups: straddling,
            fast: false,
        },
        Run {
            groups: groups - whole - straddling,
            fast: true,
        },
    ]
    .into_iter()
    .filter(|r| r.groups > 0)
}

impl std::fmt::Debug for Keystream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keystream(<key not shown>)")
    }
}

#[cfg(target_arch = "x86_64")]
mod simd;

/// Without x86-64 there is no in-register generator: the portable one does everything.
#[cfg(not(target_arch = "x86_64"))]
mod simd {
    use super::Generator;

    /// Never made: no generator other than the portable one exists here.
    pub enum Fast {}

    impl Fast {
        pub fn new(_: Generator, _: &[u8; 16]) -> Option<Fast> {
            None
        }
        pub fn generator(&self) -> Generator {
            match *self {}
        }
        pub fn fill(&self, _: u128, _: &mut [u8]) {
            match *self {}
        }
        pub fn matches(&self, _: u128, _: &[u8]) -> bool {
            match *self {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IV whose low 64 bits wrap `blocks_to_wrap` blocks in (and whose high half carries).
    fn iv_wrapping_after(blocks_to_wrap: u64) -> [u8; 16] {
        let lo = 0u64.wrapping_sub(blocks_to_wrap);
        ((0x0123_4567_89ab_cdefu128 << 64) | lo as u128).to_be_bytes()
    }

    /// The keystream for `key` and `iv` from each generator this CPU can run, portable first.
    /// Says which ran; in CI (`CI=true`) a generator this CPU has (asked here of `std::arch`,
    /// apart from the product's own detection) but that did not run fails the test, so a CI
    /// machine with VAES always tests the VAES paths.
    fn every_generator(key: [u8; 16], iv: [u8; 16]) -> Vec<Keystream> {
        let ran: Vec<Keystream> = Generator::ALL
            .into_iter()
            .rev()
            .filter_map(|g| Keystream::from_key_with(key, iv, g))
            .collect();
        let names: Vec<&str> = ran.iter().map(|k| k.generator().name()).collect();
        eprintln!("keystream generators tested: {}", names.join(", "));
        let missing: Vec<&str> = cpu_generators()
            .into_iter()
            .map(Generator::name)
            .filter(|n| !names.contains(n))
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "this CPU has, but the tests did not run: {}",
                missing.join(", ")
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the CPU has {missing:?} but no keystream of that generator was made"
            );
        }
        ran
    }

    /// The generators this CPU can run, by `std::arch`'s detection of each one's features.
    fn cpu_generators() -> Vec<Generator> {
        #[cfg(target_arch = "x86_64")]
        {
            let aes = std::arch::is_x86_feature_detected!("aes");
            let has = |g: Generator| match g {
                Generator::Vaes512 => {
                    aes && std::arch::is_x86_feature_detected!("avx512f")
                        && std::arch::is_x86_feature_detected!("avx512bw")
                        && std::arch::is_x86_feature_detected!("vaes")
                }
                Generator::Vaes256 => {
                    aes && std::arch::is_x86_feature_detected!("avx2")
                        && std::arch::is_x86_feature_detected!("vaes")
                }
                Generator::AesNi => aes && std::arch::is_x86_feature_detected!("ssse3"),
                Generator::Portable => true,
            };
            Generator::ALL.into_iter().filter(|&g| has(g)).collect()
        }
        #[cfg(not(target_arch = "x86_64"))]
        vec![Generator::Portable]
    }

    #[test]
    fn a_keystream_made_again_from_its_secret_gives_the_same_bytes() {
        let first = Keystream::random().unwrap();
        let again = Keystream::from_secret(first.secret());
        let (mut a, mut b) = (vec![0u8; 4099], vec![0u8; 4099]);
        first.fill(12_345, &mut a);
        again.fill(12_345, &mut b);
        assert_eq!(a, b);
        let other = Keystream::random().unwrap();
        other.fill(12_345, &mut b);
        assert_ne!(a, b, "two random keystreams");
        assert_eq!(format!("{:?}", first.secret()), "KeystreamSecret(..)");
    }

    #[test]
    fn keystream_is_aes128_ctr_per_nist_sp800_38a() {
        // SP 800-38A F.5.1: CTR-AES128.Encrypt; plaintext XOR keystream = ciphertext, so the
        // keystream is plaintext XOR ciphertext.
        let key = hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap();
        let iv = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").unwrap();
        let pt = hex::decode("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
            .unwrap();
        let ct = hex::decode("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff")
            .unwrap();
        let expect: Vec<u8> = pt.iter().zip(&ct).map(|(p, c)| p ^ c).collect();
        for k in every_generator(key.try_into().unwrap(), iv.try_into().unwrap()) {
            let g = k.generator();
            let mut stream = vec![0u8; 32];
            k.fill(0, &mut stream);
            assert_eq!(stream, expect, "{g:?}");
            // The IV's low half is all ones: the second block's counter carries into the high
            // half, and a long buffer runs through the in-register generator across that carry.
            let mut long = vec![0u8; 4096];
            k.fill(0, &mut long);
            assert_eq!(long[..32], expect[..], "{g:?}");
        }
    }

    #[test]
    fn a_keystream_uses_the_widest_generator_the_cpu_has() {
        let widest = Generator::ALL
            .into_iter()
            .find(|&g| Keystream::from_key_with([1; 16], [2; 16], g).is_some());
        assert_eq!(
            Some(Keystream::from_key([1; 16], [2; 16]).generator()),
            widest
        );
        for g in Generator::ALL {
            if let Some(k) = Keystream::from_key_with([1; 16], [2; 16], g) {
                assert_eq!(k.generator(), g);
            }
        }
        assert!(Keystream::from_key_with([1; 16], [2; 16], Generator::Portable).is_some());
    }

    #[test]
    fn every_generator_gives_the_portable_bytes_at_any_offset_and_across_the_counter_wrap() {
        let ivs = [
            [9u8; 16],
            iv_wrapping_after(1),
            iv_wrapping_after(8),
            iv_wrapping_after(16),
            iv_wrapping_after(37),
            iv_wrapping_after(16 * 40),
            // The whole 128-bit counter wraps to zero.
            [0xff; 16],
            (u128::MAX - 100).to_be_bytes(),
        ];
        for iv in ivs {
            let portable = Keystream::from_key_with([7; 16], iv, Generator::Portable).unwrap();
            let mut expect = vec![0u8; 64 << 10];
            portable.fill(0, &mut expect);
            for ks in every_generator([7; 16], iv) {
                let g = ks.generator();
                for (off, len) in [
                    (0usize, 64usize << 10),
                    (1, 300),
                    (15, 257),
                    (16, 256),
                    (32, 768),
                    (100, 20_000),
                    (4095, 33_000),
                    (16 * 30 + 3, 16 * 20),
                    (65_535, 1),
                ] {
                    let mut got = vec![0u8; len];
                    ks.fill(off as u64, &mut got);
                    assert_eq!(
                        got,
                        expect[off..off + len],
                        "{g:?} iv {iv:?} offset {off} len {len}"
                    );
                    assert!(ks.matches(off as u64, &expect[off..off + len]), "{g:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, .. Default::default() })]

        /// Any key, offset and length, with the counter's low half wrapping somewhere in or
        /// near the buffer: every generator writes and accepts the portable bytes.
        #[test]
        fn every_generator_agrees_with_the_portable_one(
            key in proptest::array::uniform16(proptest::num::u8::ANY),
            high in proptest::num::u64::ANY,
            to_wrap in 0u64..2048,
            offset in 0u64..16_384,
            len in 0usize..12_000,
        ) {
            let iv = ((u128::from(high) << 64) | u128::from(0u64.wrapping_sub(to_wrap))).to_be_bytes();
            let portable = Keystream::from_key_with(key, iv, Generator::Portable).unwrap();
            let mut expect = vec![0u8; len];
            portable.fill(offset, &mut expect);
            for ks in every_generator(key, iv) {
                let mut got = vec![0u8; len];
                ks.fill(offset, &mut got);
                proptest::prop_assert_eq!(&got, &expect, "{:?}", ks.generator());
                proptest::prop_assert!(ks.matches(offset, &expect), "{:?}", ks.generator());
            }
        }
    }

    #[test]
    fn matches_finds_a_single_flipped_byte_anywhere() {
        for iv in [[3u8; 16], iv_wrapping_after(50)] {
            for ks in every_generator([1; 16], iv) {
                let g = ks.generator();
                let offset = 4093u64;
                let mut data = vec![0u8; 8192 + 77];
                ks.fill(offset, &mut data);
                let last = data.len() - 1;
                for at in [0, 1, 2, 3, 255, 256, 300, 4096, 5000, last - 77, last] {
                    data[at] ^= 0x10;
                    assert!(!ks.matches(offset, &data), "{g:?} flip at {at}");
                    data[at] ^= 0x10;
                }
                assert!(ks.matches(offset, &data), "{g:?}");
                // Every byte of one whole group and the next, so each lane and register of
                // every generator is checked.
                for at in 3..3 + 2 * GROUP {
                    data[at] ^= 0x01;
                    assert!(!ks.matches(offset, &data), "{g:?} flip at {at}");
                    data[at] ^= 0x01;
                }
            }
        }
    }

    #[test]
    fn runs_cover_every_group_and_keep_the_wrap_out_of_fast_runs() {
        let at = |blocks_to_wrap: u64| u128::from_be_bytes(iv_wrapping_after(blocks_to_wrap));
        let r: Vec<Run> = runs(at(40), 10).collect();
        assert_eq!(
            r,
            [
                Run {
                    groups: 2,
                    fast: true
                },
                Run {
                    groups: 1,
                    fast: false
                },
                Run {
                    groups: 7,
                    fast: true
                }
            ]
        );
        let r: Vec<Run> = runs(at(32), 10).collect();
        assert_eq!(
            r,
            [
                Run {
                    groups: 2,
                    fast: true
                },
                Run {
                    groups: 8,
                    fast: true
                }
            ]
        );
        let r: Vec<Run> = runs(at(5), 1).collect();
        assert_eq!(
            r,
            [Run {
                groups: 1,
                fast: false
            }]
        );
        assert_eq!(
            runs(7, 3).collect::<Vec<_>>(),
            [Run {
                groups: 3,
                fast: true
            }]
        );
        assert_eq!(runs(7, 0).count(), 0);
    }

    #[test]
    fn different_keys_give_different_streams() {
        let (mut a, mut b) = (vec![0u8; 512], vec![0u8; 512]);
        Keystream::from_key([8; 16], [9; 16]).fill(0, &mut a);
        Keystream::from_key([7; 16], [9; 16]).fill(0, &mut b);
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != a[0]));
    }
}
