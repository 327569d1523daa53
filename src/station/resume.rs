//! Resuming an interrupted wipe: which checkpoint belongs to a drive, proving that the drive is
//! the one the wipe started on, and finding a wipe that was already certified.
//!
//! A checkpoint is bound to the strongest identity the drive has (its WWN; for an image file its
//! device and inode; else serial, model and size) and to a fingerprint of content the wipe
//! itself wrote: a few regions just before the point where it stopped, read back and hashed
//! when the checkpoint was written. Serials can be missing, repeated by cheap bridges, or (for
//! image files and loop devices) only a file name, and bays are reused; the content can only be
//! on the drive that was being wiped. So a resume reads those regions again first, and a drive
//! that does not hold them is refused before anything is written to it.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use crate::certificate::issue::{IssueError, Issued, find_final};
use crate::device::{AlignedBuf, DriveInfo, Target, TargetKind};

use super::checkpoint::{
    Checkpoint, CheckpointError, CheckpointStore, Damaged, DriveKey, FileId, FingerprintRegion,
    Hex32,
};

/// Length of one fingerprint region.
const REGION_LEN: u64 = 64 << 10;
/// How far before the resume point each fingerprint region ends.
const REGION_DISTANCES: [u64; 4] = [0, 1 << 20, 64 << 20, 4 << 30];

/// Why a drive cannot resume.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error(
        "no interrupted wipe of {drive} to resume (no checkpoint in {dir}); start a new wipe without --resume"
    )]
    NoCheckpoint { drive: String, dir: PathBuf },
    #[error(
        "no interrupted wipe of {drive} can be resumed: {}; start a new wipe without --resume, and move the damaged file(s) away",
        damaged.iter().map(|d| format!("checkpoint {} is damaged ({})", d.path.display(), d.why)).collect::<Vec<_>>().join("; ")
    )]
    Damaged {
        drive: String,
        damaged: Vec<Damaged>,
    },
    #[error(
        "refusing to resume wipe {id} on {drive}: {why}. This is not the drive that wipe started on, or it was written to since; start a new wipe of it without --resume"
    )]
    OtherDrive {
        drive: String,
        id: String,
        why: String,
    },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Certificate(#[from] IssueError),
}

/// What `--resume` finds for a drive.
#[derive(Debug)]
pub enum Resumable {
    /// An interrupted wipe of this drive, to continue.
    Continue(Checkpoint),
    /// A wipe whose final certificate was written before its checkpoint could be removed (a
    /// crash in between): it is done, and is reported with that certificate, never issued twice.
    Certified {
        checkpoint: Checkpoint,
        certificate: Box<Issued>,
    },
}

/// The key under which a drive's checkpoint is filed.
pub fn drive_key(target: &Target, drive: &DriveInfo) -> DriveKey {
    DriveKey {
        path: drive.path.clone(),
        serial: drive.serial.clone(),
        model: drive.model.clone(),
        wwn: drive.wwn.clone(),
        file: file_id(target),
        size_bytes: drive.size_bytes,
        native_size_bytes: None,
    }
}

/// Device and inode of an image file, from the open descriptor (not from its name).
fn file_id(target: &Target) -> Option<FileId> {
    if !matches!(target.kind(), TargetKind::ImageFile) {
        return None;
    }
    // SAFETY: the descriptor belongs to `target`, which outlives this borrow.
    let fd = unsafe { BorrowedFd::borrow_raw(target.raw_fd()) };
    let st = nix::sys::stat::fstat(fd).ok()?;
    Some(FileId {
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

/// Where the fingerprint regions before `end` lie on `target`.
fn fingerprint_regions(target: &Target, end: u64) -> Vec<(u64, u64)> {
    let align = target.alignment().max(1);
    // A drive smaller than a region is fingerprinted by what it has.
    let len = REGION_LEN.min(end) / align * align;
    if len == 0 {
        return Vec::new();
    }
    let mut regions: Vec<(u64, u64)> = REGION_DISTANCES
        .iter()
        .chain(std::iter::once(&(end / 2)))
        .filter_map(|d| end.checked_sub(d + len))
        .map(|start| (start / align * align, len))
        .collect();
    regions.sort_unstable();
    regions.dedup();
    regions
}

/// Reads and hashes a few regions just before `end`, which the wipe has written and synced.
pub fn take_fingerprint(target: &Target, end: u64) -> io::Result<Vec<FingerprintRegion>> {
    fingerprint_regions(target, end)
        .into_iter()
        .map(|(offset, len)| {
            Ok(FingerprintRegion {
                offset,
                len,
                blake3: Hex32(hash_region(target, offset, len)?),
            })
        })
        .collect()
}

fn hash_region(target: &Target, offset: u64, len: u64) -> io::Result<[u8; 32]> {
    let mut buf = AlignedBuf::zeroed(len as usize);
    crate::verify::sample::read_with_retries(target, &mut buf[..], offset)?;
    Ok(*blake3::hash(&buf[..]).as_bytes())
}

/// Checks that `target` holds what the checkpoint's wipe wrote. Regions beyond the drive's
/// present size (a hidden area back after a power cycle) cannot be read yet and are passed
/// over; at least one region must be read unless the drive has a WWN.
fn check_content(target: &Target, cp: &Checkpoint, drive: &str) -> Result<(), ResumeError> {
    let other = |why: String| ResumeError::OtherDrive {
        drive: drive.to_string(),
        id: cp.id.to_string(),
        why,
    };
    let size = target.geometry().size_bytes;
    let mut compared = 0;
    for r in &cp.fingerprint {
        if r.offset + r.len > size {
            continue;
        }
        let got = hash_region(target, r.offset, r.len).map_err(|e| {
            other(format!(
                "cannot read {} bytes at offset {}: {e}",
                r.len, r.offset
            ))
        })?;
        if got != r.blake3.0 {
            return Err(other(format!(
                "it does not hold what the wipe wrote before it stopped ({} bytes at offset {} differ)",
                r.len, r.offset
            )));
        }
        compared += 1;
    }
    let wrote = cp
        .steps
        .iter()
        .any(|s| s.bytes_written > 0 || s.stopped_at.is_some());
    if wrote && compared == 0 && cp.drive.wwn.is_none() {
        return Err(other(
            "none of the content the wipe wrote can be read back to recognise the drive".into(),
        ));
    }
    Ok(())
}

/// Finds the interrupted wipe of the drive behind `target` and proves it is this drive.
/// `station_key` is the key this station signs with: only a certificate it signed counts as the
/// wipe's earlier certificate.
pub fn claim(
    checkpoints: &CheckpointStore,
    certificates: &Path,
    station_key: &ed25519_dalek::VerifyingKey,
    target: &Target,
    drive: &DriveInfo,
) -> Result<Resumable, ResumeError> {
    let scan = checkpoints.scan()?;
    let key = drive_key(target, drive);
    let Some((_, cp)) = scan.newest_for(&key) else {
        if !scan.damaged.is_empty() {
            return Err(ResumeError::Damaged {
                drive: drive.path.clone(),
                damaged: scan.damaged,
            });
        }
        return Err(ResumeError::NoCheckpoint {
            drive: drive.path.clone(),
            dir: checkpoints.dir().into(),
        });
    };
    check_content(target, cp, &drive.path)?;
    let cp = cp.clone();
    match find_final(
        certificates,
        &cp.id.to_string(),
        drive.serial.as_deref(),
        station_key,
    )? {
        Some(certificate) => Ok(Resumable::Certified {
            checkpoint: cp,
            certificate: Box::new(certificate),
        }),
        None => Ok(Resumable::Continue(cp)),
    }
}

/// For a new wipe: the checkpoint of an earlier, interrupted wipe of this same drive (it is
/// superseded and may go). A checkpoint that only looks like this drive's, but whose content
/// the drive does not hold, belongs to another drive and is left alone.
pub fn superseded(
    checkpoints: &CheckpointStore,
    target: &Target,
    drive: &DriveInfo,
) -> Result<Option<Checkpoint>, CheckpointError> {
    let scan = checkpoints.scan()?;
    let key = drive_key(target, drive);
    Ok(scan
        .checkpoints
        .into_iter()
        .map(|(_, cp)| cp)
        .filter(|cp| cp.drive.matches(&key))
        .find(|cp| check_content(target, cp, &drive.path).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_lie_before_the_end_aligned_and_distinct() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.img");
        std::fs::write(&path, vec![1u8; (8 << 20) + 100]).unwrap();
        let t = Target::open_read(&path).unwrap();
        let end = (8 << 20) + 100;
        let regions = fingerprint_regions(&t, end);
        assert_eq!(regions.len(), 3, "{regions:?}");
        for (offset, len) in &regions {
            assert_eq!(offset % 512, 0);
            assert!(offset + len <= end);
        }
        assert!(fingerprint_regions(&t, 500).is_empty());
        assert_eq!(fingerprint_regions(&t, 4096), [(0, 4096)]);
        let fp = take_fingerprint(&t, end).unwrap();
        assert_eq!(fp.len(), 3);
        assert_eq!(fp[0].blake3.0, *blake3::hash(&[1u8; 64 << 10]).as_bytes());
    }
}
