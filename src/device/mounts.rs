//! Parsers for the kernel's mount table (`/proc/self/mountinfo`) and swap list (`/proc/swaps`).
//!
//! Both are pure functions over text so they can be tested byte for byte; the guard reads the
//! files and hands the text in.

use std::path::PathBuf;

/// One line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Device number of the mounted filesystem (`st_dev`); major 0 for virtual filesystems.
    pub major: u32,
    pub minor: u32,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Filesystem type, e.g. `ext4`, `overlay`.
    pub fs_type: String,
    /// The mount source, e.g. `/dev/sda1`, `overlay`.
    pub source: String,
    /// Per-superblock options, e.g. `rw,lowerdir=/a:/b`.
    pub super_options: String,
}

/// Parses `/proc/self/mountinfo`. Malformed lines are skipped: a line the kernel did not write
/// as documented says nothing about a device.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_mountinfo_line).collect()
}

fn parse_mountinfo_line(line: &str) -> Option<MountEntry> {
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    let (head, tail) = line.split_once(" - ")?;
    let mut head = head.split(' ');
    let _id = head.next()?;
    let _parent = head.next()?;
    let (major, minor) = head.next()?.split_once(':')?;
    let _root = head.next()?;
    let mount_point = unescape_octal(head.next()?);
    let mut tail = tail.split(' ');
    let fs_type = unescape_octal(tail.next()?);
    let source = unescape_octal(tail.next()?);
    let super_options = tail.next().map(unescape_octal).unwrap_or_default();
    Some(MountEntry {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        mount_point: PathBuf::from(mount_point),
        fs_type,
        source,
        super_options,
    })
}

/// One active swap area from `/proc/swaps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapEntry {
    /// The swap device or file.
    pub path: PathBuf,
    /// `partition` or `file`.
    pub kind: String,
}

/// Parses `/proc/swaps` (a header line, then one whitespace-separated line per area).
pub fn parse_swaps(text: &str) -> Vec<SwapEntry> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let path = fields.next()?;
            let kind = fields.next()?;
            Some(SwapEntry {
                path: PathBuf::from(unescape_octal(path)),
                kind: kind.to_string(),
            })
        })
        .collect()
}

/// Undoes the kernel's `\ooo` escaping of space, tab, newline and backslash in paths.
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = (digits[0] - b'0') as u32 * 64
                    + (digits[1] - b'0') as u32 * 8
                    + (digits[2] - b'0') as u32;
                if value <= 0xff {
                    out.push(value as u8);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_with_optional_fields_and_escapes() {
        let text = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 master:2 - ext4 /dev/vda rw,discard
42 27 259:0 / /mnt/my\\040disk rw,relatime - ext4 /dev/loop0p1 rw
43 27 0:50 / /merged rw - overlay overlay rw,lowerdir=/lower,upperdir=/up,workdir=/w
garbage line
";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts.len(), 4);
        assert_eq!(mounts[1].major, 254);
        assert_eq!(mounts[1].minor, 0);
        assert_eq!(mounts[1].mount_point, PathBuf::from("/"));
        assert_eq!(mounts[1].source, "/dev/vda");
        assert_eq!(mounts[2].mount_point, PathBuf::from("/mnt/my disk"));
        assert_eq!(mounts[2].major, 259);
        assert_eq!(mounts[3].fs_type, "overlay");
        assert!(mounts[3].super_options.contains("lowerdir=/lower"));
    }

    #[test]
    fn parses_swaps() {
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
                    /dev/sdb2                               partition\t8388604\t\t0\t\t-2\n\
                    /swap\\040file                           file\t\t1048572\t\t0\t\t-3\n";
        let swaps = parse_swaps(text);
        assert_eq!(swaps.len(), 2);
        assert_eq!(swaps[0].path, PathBuf::from("/dev/sdb2"));
        assert_eq!(swaps[0].kind, "partition");
        assert_eq!(swaps[1].path, PathBuf::from("/swap file"));
    }

    #[test]
    fn empty_and_hostile_input_never_panics() {
        assert!(parse_mountinfo("").is_empty());
        assert!(parse_swaps("").is_empty());
        for s in ["\\", "\\7", "\\77", "\\777", "\\400x", "a\\", "1 2 3:4 - x"] {
            let _ = unescape_octal(s);
            let _ = parse_mountinfo(s);
            let _ = parse_swaps(&format!("h\n{s}"));
        }
        assert_eq!(unescape_octal("\\777"), "\\777");
    }
}
