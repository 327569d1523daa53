//! Pattern generators: the bytes a pass writes at any offset of the drive.
//!
//! Constant and repeating patterns are pure functions of the offset. The random pattern is an
//! AES-128-CTR keystream keyed from the OS RNG per pass: byte `o` of the drive is keystream byte
//! `o`, so any region can be recomputed for verification without storing what was written. The
//! key lives only in memory, in a zeroize-on-drop buffer, and is never serialized.
//!
//! The keystream is produced as CTR mode defines it, `AES(key, IV + i)` for block `i` with a
//! 128-bit big-endian counter, by writing the counter blocks into the output buffer and
//! encrypting them in place. That lets the `aes` crate use its widest parallel backend (AES-NI
//! or VAES) and skips the XOR with zeros a stream-cipher API would do: about twice as fast.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use zeroize::Zeroizing;

use super::method::PassPattern;

/// Errors creating a pattern.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("the OS random number generator failed: {0}")]
    Rng(String),
}

/// A seekable keystream: AES-128 in counter mode with a random key and initial counter block.
pub struct Keystream {
    key: Zeroizing<[u8; 16]>,
    iv: Zeroizing<[u8; 16]>,
}

impl Keystream {
    /// A fresh keystream keyed from the OS RNG.
    pub fn random() -> Result<Keystream, PatternError> {
        let mut key = Zeroizing::new([0u8; 16]);
        let mut iv = Zeroizing::new([0u8; 16]);
        getrandom::fill(&mut key[..]).map_err(|e| PatternError::Rng(e.to_string()))?;
        getrandom::fill(&mut iv[..]).map_err(|e| PatternError::Rng(e.to_string()))?;
        Ok(Keystream { key, iv })
    }

    /// A keystream with a fixed key (tests and benchmarks only).
    pub fn from_key(key: [u8; 16], iv: [u8; 16]) -> Keystream {
        Keystream {
            key: Zeroizing::new(key),
            iv: Zeroizing::new(iv),
        }
    }

    /// Writes keystream bytes `[offset, offset + buf.len())` into `buf`.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        let cipher = aes::Aes128::new((&*self.key).into());
        let iv = u128::from_be_bytes(*self.iv);
        let block_of = |index: u64| -> [u8; 16] {
            let mut b = aes::Block::from(iv.wrapping_add(index as u128).to_be_bytes());
            cipher.encrypt_block(&mut b);
            b.into()
        };
        let mut index = offset / 16;
        let skip = (offset % 16) as usize;
        let mut rest = buf;
        if skip != 0 {
            let block = block_of(index);
            let n = (16 - skip).min(rest.len());
            rest[..n].copy_from_slice(&block[skip..skip + n]);
            rest = &mut rest[n..];
            index += 1;
        }
        let (blocks, tail) = aes::Block::slice_as_chunks_mut(rest);
        for (i, b) in blocks.iter_mut().enumerate() {
            b.copy_from_slice(&iv.wrapping_add(index as u128 + i as u128).to_be_bytes());
        }
        cipher.encrypt_blocks(blocks);
        if !tail.is_empty() {
            let block = block_of(index + blocks.len() as u64);
            let n = tail.len();
            tail.copy_from_slice(&block[..n]);
        }
    }
}

impl std::fmt::Debug for Keystream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keystream(<key not shown>)")
    }
}

/// A ready-to-use generator for one pass.
#[derive(Debug)]
pub enum Pattern {
    Constant(u8),
    Repeating(Vec<u8>),
    Random(Keystream),
}

impl Pattern {
    /// A generator for `spec`; random patterns get a fresh key.
    pub fn new(spec: &PassPattern) -> Result<Pattern, PatternError> {
        Ok(match spec {
            PassPattern::Constant { byte } => Pattern::Constant(*byte),
            PassPattern::Repeating { bytes } if bytes.is_empty() => Pattern::Constant(0),
            PassPattern::Repeating { bytes } => Pattern::Repeating(bytes.clone()),
            PassPattern::Random => Pattern::Random(Keystream::random()?),
        })
    }

    /// The pattern's description (no secrets).
    pub fn spec(&self) -> PassPattern {
        match self {
            Pattern::Constant(b) => PassPattern::Constant { byte: *b },
            Pattern::Repeating(b) => PassPattern::Repeating { bytes: b.clone() },
            Pattern::Random(_) => PassPattern::Random,
        }
    }

    /// Whether the bytes depend only on `offset % period()` (everything but random).
    pub fn is_periodic(&self) -> bool {
        !matches!(self, Pattern::Random(_))
    }

    /// The period of a periodic pattern in bytes.
    pub fn period(&self) -> usize {
        match self {
            Pattern::Constant(_) => 1,
            Pattern::Repeating(b) => b.len(),
            Pattern::Random(_) => 0,
        }
    }

    /// Writes the pattern's bytes for drive offsets `[offset, offset + buf.len())` into `buf`.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        match self {
            Pattern::Constant(b) => buf.fill(*b),
            Pattern::Repeating(bytes) => fill_repeating(bytes, offset, buf),
            Pattern::Random(ks) => ks.fill(offset, buf),
        }
    }
}

fn fill_repeating(bytes: &[u8], offset: u64, buf: &mut [u8]) {
    let period = bytes.len();
    let phase = (offset % period as u64) as usize;
    let first = buf.len().min(period);
    for (i, b) in buf[..first].iter_mut().enumerate() {
        *b = bytes[(phase + i) % period];
    }
    // Double the filled prefix until the buffer is full: memcpy speed.
    let mut filled = first;
    while filled < buf.len() {
        let n = filled.min(buf.len() - filled);
        buf.copy_within(0..n, filled);
        filled += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystream_is_seekable_at_any_offset() {
        let ks = Keystream::from_key([7; 16], [9; 16]);
        let mut whole = vec![0u8; 10_000];
        ks.fill(0, &mut whole);
        for (off, len) in [
            (0usize, 16usize),
            (1, 15),
            (17, 1000),
            (4095, 4097),
            (9_999, 1),
        ] {
            let mut part = vec![0u8; len];
            ks.fill(off as u64, &mut part);
            assert_eq!(part, whole[off..off + len], "offset {off}");
        }
        // Different keys give different streams; the stream is not trivially constant.
        let other = Keystream::from_key([8; 16], [9; 16]);
        let mut b = vec![0u8; 64];
        other.fill(0, &mut b);
        assert_ne!(b, whole[..64]);
        assert!(whole.iter().any(|&x| x != whole[0]));
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
        let ks = Keystream::from_key(key.try_into().unwrap(), iv.try_into().unwrap());
        let mut stream = vec![0u8; 32];
        ks.fill(0, &mut stream);
        let expect: Vec<u8> = pt.iter().zip(&ct).map(|(p, c)| p ^ c).collect();
        assert_eq!(stream, expect);
    }

    #[test]
    fn fresh_random_patterns_differ() {
        let a = Pattern::new(&PassPattern::Random).unwrap();
        let b = Pattern::new(&PassPattern::Random).unwrap();
        let (mut x, mut y) = (vec![0u8; 32], vec![0u8; 32]);
        a.fill(0, &mut x);
        b.fill(0, &mut y);
        assert_ne!(x, y);
        assert_eq!(format!("{:?}", a), "Random(Keystream(<key not shown>))");
    }

    #[test]
    fn repeating_pattern_keeps_its_phase_from_drive_offset_zero() {
        let p = Pattern::new(&PassPattern::Repeating {
            bytes: vec![1, 2, 3],
        })
        .unwrap();
        let mut buf = vec![0u8; 10];
        p.fill(4, &mut buf);
        assert_eq!(buf, [2, 3, 1, 2, 3, 1, 2, 3, 1, 2]);
        let mut big = vec![0u8; 1 << 20];
        p.fill(0, &mut big);
        assert!(big.iter().enumerate().all(|(i, &b)| b == [1, 2, 3][i % 3]));
    }
}
