//! The hashes of a sampling plan's regions, and the one digest that stands for all of them in a
//! certificate.

use super::plan::Region;

/// A BLAKE3 hash.
pub type Hash = [u8; 32];

/// The digest that stands for a whole plan's read-back: BLAKE3 over, for each region in order,
/// its offset and length (u64 little-endian) and its hash.
pub fn plan_digest(regions: &[Region], hashes: &[Hash]) -> Hash {
    let mut h = blake3::Hasher::new();
    for (r, hash) in regions.iter().zip(hashes) {
        h.update(&r.offset.to_le_bytes());
        h.update(&r.len.to_le_bytes());
        h.update(hash);
    }
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> Vec<Region> {
        vec![
            Region {
                offset: 0,
                len: 100,
            },
            Region {
                offset: 150,
                len: 100,
            },
            Region {
                offset: 300,
                len: 10,
            },
            Region {
                offset: 400,
                len: 600,
            },
        ]
    }

    fn data() -> Vec<u8> {
        (0..1000u32).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn direct(regions: &[Region], d: &[u8]) -> Vec<Hash> {
        regions
            .iter()
            .map(|r| *blake3::hash(&d[r.offset as usize..r.end() as usize]).as_bytes())
            .collect()
    }

    #[test]
    fn digest_depends_on_positions_and_hashes() {
        let r = regions();
        let h = direct(&r, &data());
        let d1 = plan_digest(&r, &h);
        let mut r2 = r.clone();
        r2[1].offset += 1;
        assert_ne!(d1, plan_digest(&r2, &h));
        let mut h2 = h.clone();
        h2[3][0] ^= 1;
        assert_ne!(d1, plan_digest(&r, &h2));
    }
}
