//! Sampling plans: which regions of a drive verification reads (NIST SP 800-88 Rev. 1 4.7.2).
//!
//! The drive is cut into at least 1,000 equal subsections (fewer only when it has too few
//! sectors), each subsection into `k >= 2` equal slots, and one region is placed at a
//! pseudorandom sector-aligned offset inside each slot, so regions never overlap; the first and
//! last MiB are always included. Offsets come from a BLAKE3 keyed XOF over a 32-byte seed, so
//! anyone holding the seed, the drive size, the sector size and the coverage can rebuild exactly
//! the same plan (algorithm `wipeproof-sample-v1`, spelled out in `certificates/README.md`).

use serde::{Deserialize, Serialize};

/// Name of the algorithm implemented here; recorded so old certificates stay checkable.
pub const ALGORITHM: &str = "wipeproof-sample-v1";

/// Target number of subsections.
pub const SUBSECTIONS: u64 = 1000;
/// Bytes always read at each end of the drive.
pub const EDGE_BYTES: u64 = 1 << 20;
/// Largest region; beyond it more regions per subsection are used instead.
pub const MAX_REGION_BYTES: u64 = 64 << 20;

/// One region to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub offset: u64,
    pub len: u64,
}

impl Region {
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// The inputs that determine a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanParams {
    pub size_bytes: u64,
    /// Alignment unit (the logical sector size).
    pub sector_size: u32,
    /// Requested coverage in parts per million (10% = 100000).
    pub coverage_ppm: u32,
    #[serde(with = "hex_seed")]
    pub seed: [u8; 32],
}

mod hex_seed {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(&s).map_err(serde::de::Error::custom)?;
        v.try_into()
            .map_err(|_| serde::de::Error::custom("seed must be 32 bytes (64 hex digits)"))
    }
}

/// A built plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplePlan {
    pub params: PlanParams,
    /// Regions in increasing offset order, non-overlapping.
    pub regions: Vec<Region>,
    pub subsections: u64,
    pub regions_per_subsection: u64,
    /// Length of the regions inside subsections (the edge regions are [`EDGE_BYTES`]).
    pub region_size: u64,
}

/// Errors building a plan from (possibly untrusted) parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("sector size {0} is not a power of two between 512 and 65536")]
    Sector(u32),
    #[error("coverage must be more than 0% and at most 100%")]
    Coverage,
    #[error("drive size 0")]
    Empty,
}

/// Deterministic draws from the seed.
struct Draws {
    xof: blake3::OutputReader,
}

impl Draws {
    fn new(seed: &[u8; 32]) -> Draws {
        let mut h = blake3::Hasher::new_keyed(seed);
        h.update(ALGORITHM.as_bytes());
        Draws {
            xof: h.finalize_xof(),
        }
    }

    /// A value in `0..n` (n > 0): the next 8 XOF bytes as a little-endian u64, modulo n.
    fn below(&mut self, n: u64) -> u64 {
        let mut b = [0u8; 8];
        self.xof.fill(&mut b);
        u64::from_le_bytes(b) % n
    }
}

impl SamplePlan {
    /// Builds the plan for `params`.
    pub fn build(params: PlanParams) -> Result<SamplePlan, PlanError> {
        let a = params.sector_size as u64;
        if !params.sector_size.is_power_of_two() || !(512..=65536).contains(&params.sector_size) {
            return Err(PlanError::Sector(params.sector_size));
        }
        if params.coverage_ppm == 0 || params.coverage_ppm > 1_000_000 {
            return Err(PlanError::Coverage);
        }
        let size = params.size_bytes;
        if size == 0 {
            return Err(PlanError::Empty);
        }
        let units = size / a;
        let edge_units = (EDGE_BYTES / a).max(1);
        // Too small to sample: read all of it.
        if units < 2 * edge_units + 4 {
            return Ok(SamplePlan {
                params,
                regions: vec![Region {
                    offset: 0,
                    len: size,
                }],
                subsections: 0,
                regions_per_subsection: 0,
                region_size: size,
            });
        }
        let first = Region {
            offset: 0,
            len: edge_units * a,
        };
        let last_start = (units - edge_units) * a;
        // The last region runs to the very end (an image file may end mid-sector).
        let last = Region {
            offset: last_start,
            len: size - last_start,
        };
        let mid_start = edge_units;
        let mid_units = units - 2 * edge_units;
        let n = SUBSECTIONS.min(mid_units / 2).max(1);
        let min_sub_units = mid_units / n;
        let wanted = (size as u128 * params.coverage_ppm as u128).div_ceil(1_000_000) as u64;
        let target_mid = wanted.saturating_sub(first.len + last.len).max(n * 2 * a);
        let max_region_units = (MAX_REGION_BYTES / a).max(1);
        let mut k = 2u64.max(target_mid.div_ceil(n * max_region_units * a));
        k = k.min(min_sub_units).max(1);
        let mut region_units = (target_mid / (n * k * a)).max(1);
        if k * region_units > min_sub_units {
            region_units = (min_sub_units / k).max(1);
        }

        let mut draws = Draws::new(&params.seed);
        let mut regions = Vec::with_capacity((n * k + 2) as usize);
        regions.push(first);
        for i in 0..n {
            let sa = mid_start + (i as u128 * mid_units as u128 / n as u128) as u64;
            let sb = mid_start + ((i + 1) as u128 * mid_units as u128 / n as u128) as u64;
            let sub = sb - sa;
            for j in 0..k {
                let s = sa + j * sub / k;
                let e = sa + (j + 1) * sub / k;
                let slack = (e - s).saturating_sub(region_units);
                let r = draws.below(slack + 1);
                regions.push(Region {
                    offset: (s + r) * a,
                    len: region_units * a,
                });
            }
        }
        regions.push(last);
        Ok(SamplePlan {
            params,
            regions,
            subsections: n,
            regions_per_subsection: k,
            region_size: region_units * a,
        })
    }

    /// Bytes the plan reads.
    pub fn bytes(&self) -> u64 {
        self.regions.iter().map(|r| r.len).sum()
    }

    /// Actual coverage in parts per million.
    pub fn coverage_ppm(&self) -> u32 {
        ((self.bytes() as u128 * 1_000_000) / self.params.size_bytes.max(1) as u128) as u32
    }
}

/// A fresh random seed from the OS RNG.
pub fn random_seed() -> Result<[u8; 32], getrandom::Error> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)?;
    Ok(seed)
}

/// Parses a percentage such as `10`, `2.5` or `0.1` into parts per million.
pub fn parse_percent(s: &str) -> Option<u32> {
    let s = s.trim().trim_end_matches('%');
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > 4 {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut frac_ppm = 0u64;
    let mut scale = 1000u64;
    for c in frac.chars() {
        frac_ppm += (c as u64 - '0' as u64) * scale;
        scale /= 10;
    }
    let ppm = int.checked_mul(10_000)?.checked_add(frac_ppm)?;
    (1..=1_000_000).contains(&ppm).then_some(ppm as u32)
}

/// Formats parts per million as a percentage, e.g. `9.92%`.
pub fn format_ppm(ppm: u32) -> String {
    format!("{}.{:02}%", ppm / 10_000, (ppm % 10_000) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(size: u64, sector: u32, ppm: u32, seed: u8) -> PlanParams {
        PlanParams {
            size_bytes: size,
            sector_size: sector,
            coverage_ppm: ppm,
            seed: [seed; 32],
        }
    }

    fn check_invariants(plan: &SamplePlan) {
        let p = plan.params;
        let a = p.sector_size as u64;
        assert_eq!(plan.regions[0].offset, 0, "first region at 0");
        assert_eq!(
            plan.regions.last().unwrap().end(),
            p.size_bytes,
            "last region at the end"
        );
        for w in plan.regions.windows(2) {
            assert!(w[0].end() <= w[1].offset, "overlap: {:?}", w);
        }
        for r in &plan.regions {
            assert_eq!(r.offset % a, 0, "unaligned {r:?}");
            assert!(r.len > 0);
            assert!(r.end() <= p.size_bytes);
        }
    }

    #[test]
    fn one_gib_at_ten_percent() {
        let plan = SamplePlan::build(params(1 << 30, 512, 100_000, 1)).unwrap();
        check_invariants(&plan);
        assert_eq!(plan.subsections, 1000);
        assert!(plan.regions_per_subsection >= 2);
        assert_eq!(
            plan.regions.len() as u64,
            1000 * plan.regions_per_subsection + 2
        );
        let cov = plan.coverage_ppm();
        assert!((95_000..=105_000).contains(&cov), "coverage {cov}");
        assert_eq!(plan.regions[0].len, EDGE_BYTES);
        assert_eq!(plan.regions.last().unwrap().len, EDGE_BYTES);
        // Each subsection holds its own regions.
        let mid = (1u64 << 30) - 2 * EDGE_BYTES;
        for (i, chunk) in plan.regions[1..plan.regions.len() - 1]
            .chunks(plan.regions_per_subsection as usize)
            .enumerate()
        {
            let lo = EDGE_BYTES + (i as u64 * (mid / 512) / 1000) * 512;
            let hi = EDGE_BYTES + ((i as u64 + 1) * (mid / 512) / 1000) * 512;
            assert!(
                chunk.iter().all(|r| r.offset >= lo && r.end() <= hi),
                "subsection {i}"
            );
        }
    }

    #[test]
    fn deterministic_from_seed_and_different_for_other_seeds() {
        let a = SamplePlan::build(params(1 << 30, 4096, 100_000, 7)).unwrap();
        let b = SamplePlan::build(params(1 << 30, 4096, 100_000, 7)).unwrap();
        let c = SamplePlan::build(params(1 << 30, 4096, 100_000, 8)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.regions, c.regions);
        check_invariants(&a);
    }

    #[test]
    fn coverage_follows_the_request() {
        for ppm in [1_000, 10_000, 100_000, 500_000, 1_000_000] {
            let plan = SamplePlan::build(params(256 << 20, 512, ppm, 3)).unwrap();
            check_invariants(&plan);
            let cov = plan.coverage_ppm() as i64;
            // Never below what was asked (up to rounding to sectors), never far above.
            assert!(cov >= ppm as i64 * 95 / 100, "asked {ppm}, got {cov}");
            assert!(
                cov <= (ppm as i64 * 12 / 10).max(20_000),
                "asked {ppm}, got {cov}"
            );
        }
    }

    #[test]
    fn huge_drive_uses_more_regions_not_giant_ones() {
        let plan = SamplePlan::build(params(20_000_000_000_000, 4096, 100_000, 5)).unwrap();
        assert!(plan.region_size <= MAX_REGION_BYTES);
        assert!(plan.regions_per_subsection > 2);
        check_invariants(&plan);
    }

    #[test]
    fn small_and_odd_drives() {
        // Smaller than two edges: the whole drive is one region.
        let plan = SamplePlan::build(params(1 << 20, 512, 100_000, 1)).unwrap();
        assert_eq!(
            plan.regions,
            [Region {
                offset: 0,
                len: 1 << 20
            }]
        );
        // Fewer sectors than 2,000: fewer subsections, still two regions each.
        let plan = SamplePlan::build(params(4 << 20, 4096, 100_000, 1)).unwrap();
        check_invariants(&plan);
        assert!(plan.subsections < 1000);
        // An image whose size is not a multiple of the sector size.
        let plan = SamplePlan::build(params((8 << 20) + 100, 512, 100_000, 1)).unwrap();
        check_invariants(&plan);
    }

    #[test]
    fn rejects_bad_params() {
        assert!(SamplePlan::build(params(1 << 30, 1000, 100_000, 1)).is_err());
        assert!(SamplePlan::build(params(1 << 30, 512, 0, 1)).is_err());
        assert!(SamplePlan::build(params(1 << 30, 512, 1_000_001, 1)).is_err());
        assert!(SamplePlan::build(params(0, 512, 10, 1)).is_err());
    }

    #[test]
    fn percent_parsing() {
        assert_eq!(parse_percent("10"), Some(100_000));
        assert_eq!(parse_percent("2.5"), Some(25_000));
        assert_eq!(parse_percent("0.01%"), Some(100));
        assert_eq!(parse_percent("100"), Some(1_000_000));
        for bad in ["0", "101", "-1", "abc", "", ".", "1.23456", "1e3"] {
            assert_eq!(parse_percent(bad), None, "{bad}");
        }
        assert_eq!(format_ppm(99_237), "9.92%");
    }
}
