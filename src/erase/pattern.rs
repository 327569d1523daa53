//! Pattern generators: the bytes a pass writes at any offset of the drive.
//!
//! Constant and repeating patterns are pure functions of the offset. The random pattern is an
//! AES-128-CTR keystream keyed from the OS RNG per pass ([`Keystream`]): byte `o` of the drive is
//! keystream byte `o`, so any region can be recomputed for verification without storing what
//! was written.

pub use super::keystream::Keystream;
use super::method::PassPattern;

/// Errors creating a pattern.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error(transparent)]
    Keystream(#[from] super::keystream::KeystreamError),
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
