//! Hashing the regions of a sampling plan from a stream of sequential buffers.
//!
//! A pass writes, and a full read-back reads, the drive front to back in large buffers; the
//! sample regions fall anywhere in them, sometimes across two. [`RegionHasher`] is fed those
//! buffers in order and produces each region's BLAKE3 hash, so random passes record what they
//! wrote into the sample regions (the expected hashes) and full verification records what it
//! read, without a second pass over the drive.

use super::plan::Region;

/// A BLAKE3 hash.
pub type Hash = [u8; 32];

/// Incremental hasher of plan regions over sequential buffers.
pub struct RegionHasher {
    regions: Vec<Region>,
    hashes: Vec<Option<Hash>>,
    /// Index of the first region not yet finished or skipped.
    cursor: usize,
    /// The region being hashed and the next offset it expects.
    open: Option<(usize, blake3::Hasher, u64)>,
}

impl RegionHasher {
    pub fn new(regions: &[Region]) -> RegionHasher {
        RegionHasher {
            regions: regions.to_vec(),
            hashes: vec![None; regions.len()],
            cursor: 0,
            open: None,
        }
    }

    /// Starts with hashes already known (from a checkpoint).
    pub fn with_known(regions: &[Region], known: &[(usize, Hash)]) -> RegionHasher {
        let mut h = RegionHasher::new(regions);
        for &(i, hash) in known {
            if let Some(slot) = h.hashes.get_mut(i) {
                *slot = Some(hash);
            }
        }
        h
    }

    /// Feeds the bytes at drive offset `offset`. Buffers must come in increasing offset order;
    /// a region whose start was not seen (the stream began inside it) stays unhashed.
    pub fn feed(&mut self, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        // Skip regions that end before this buffer.
        while self.cursor < self.regions.len() && self.regions[self.cursor].end() <= offset {
            if matches!(self.open, Some((i, _, _)) if i == self.cursor) {
                self.open = None;
            }
            self.cursor += 1;
        }
        let mut i = self.cursor;
        while i < self.regions.len() && self.regions[i].offset < end {
            let r = self.regions[i];
            let from = r.offset.max(offset);
            let to = r.end().min(end);
            let slice = &data[(from - offset) as usize..(to - offset) as usize];
            let open_here = matches!(&self.open, Some((j, _, next)) if *j == i && *next == from);
            if open_here {
                if let Some((_, h, next)) = self.open.as_mut() {
                    h.update(slice);
                    *next = to;
                }
            } else if from == r.offset && self.hashes[i].is_none() {
                let mut h = blake3::Hasher::new();
                h.update(slice);
                self.open = Some((i, h, to));
            } else {
                // Started mid-region (or known already): leave it.
                self.open = None;
            }
            if to == r.end() {
                if let Some((j, h, _)) = self.open.take()
                    && j == i
                {
                    self.hashes[i] = Some(*h.finalize().as_bytes());
                }
                if i == self.cursor {
                    self.cursor += 1;
                }
            }
            i += 1;
        }
    }

    /// Hashes known so far (index, hash) for regions that end at or before `offset`.
    pub fn completed_before(&self, offset: u64) -> Vec<(usize, Hash)> {
        self.hashes
            .iter()
            .enumerate()
            .filter(|(i, h)| h.is_some() && self.regions[*i].end() <= offset)
            .filter_map(|(i, h)| h.map(|h| (i, h)))
            .collect()
    }

    /// All region hashes (None where a region was not fully seen).
    pub fn hashes(&self) -> &[Option<Hash>] {
        &self.hashes
    }

    pub fn into_hashes(self) -> Vec<Option<Hash>> {
        self.hashes
    }
}

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

/// The earliest offset at or before `offset` where a stream may restart without leaving a
/// region half-hashed: the start of a region that straddles `offset`, else `offset`.
pub fn restart_offset(regions: &[Region], offset: u64) -> u64 {
    regions
        .iter()
        .find(|r| r.offset < offset && r.end() > offset)
        .map(|r| r.offset)
        .unwrap_or(offset)
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
    fn any_buffer_size_gives_the_direct_hashes() {
        let d = data();
        let expect = direct(&regions(), &d);
        for chunk in [1usize, 7, 64, 100, 150, 333, 1000] {
            let mut h = RegionHasher::new(&regions());
            let mut off = 0;
            for c in d.chunks(chunk) {
                h.feed(off, c);
                off += c.len() as u64;
            }
            let got: Vec<Hash> = h.hashes().iter().map(|x| x.unwrap()).collect();
            assert_eq!(got, expect, "chunk {chunk}");
        }
    }

    #[test]
    fn stream_starting_mid_region_skips_it_and_known_hashes_fill_in() {
        let d = data();
        let expect = direct(&regions(), &d);
        let mut h = RegionHasher::with_known(&regions(), &[(0, expect[0])]);
        h.feed(200, &d[200..]);
        let got = h.hashes();
        assert_eq!(got[0], Some(expect[0]));
        assert_eq!(got[1], None, "region 1 started before the stream");
        assert_eq!(got[2], Some(expect[2]));
        assert_eq!(got[3], Some(expect[3]));
        assert_eq!(h.completed_before(400).len(), 2);
        assert_eq!(restart_offset(&regions(), 200), 150);
        assert_eq!(restart_offset(&regions(), 260), 260);
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
