//! Tests of [`super::Target`] on image files: the tail of odd sizes, locks, clear errors and the
//! state directory by identity.

use super::super::AlignedBuf;
use super::*;

fn ctx() -> GuardContext {
    GuardContext::new(vec![], None)
}

#[test]
fn image_file_with_odd_size_round_trips_its_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.img");
    std::fs::write(&path, vec![0x11u8; 8192 + 100]).unwrap();
    let t = Target::open_for_erase(&path, &ctx()).unwrap();
    assert_eq!(t.geometry().size_bytes, 8292);
    let mut buf = AlignedBuf::filled(8292, 0x22);
    t.write_at(&buf, 0).unwrap();
    t.sync().unwrap();
    buf.fill(0);
    t.read_at(&mut buf, 0).unwrap();
    assert!(buf.iter().all(|&b| b == 0x22));
    // A request past the end is refused, not truncated.
    let mut big = AlignedBuf::zeroed(8704);
    assert!(t.read_at(&mut big, 0).is_err());
    // An unaligned start is refused when O_DIRECT is in use.
    if t.is_direct() {
        assert!(t.write_at(&buf[..512], 100).is_err());
    }
}

#[test]
fn a_lock_that_outlives_its_drive_for_an_instant_does_not_refuse_the_next_open() {
    // A child forked by another thread holds a copy of the descriptor until it runs exec: here
    // a duplicate of the first handle's descriptor, closed 100 ms after the handle itself.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.img");
    std::fs::write(&path, vec![0u8; 4096]).unwrap();
    let first = Target::open_for_erase(&path, &ctx()).unwrap();
    // SAFETY: dup of a descriptor that is open; the copy is closed exactly once, below.
    let copy = unsafe { libc::dup(first.file.as_raw_fd()) };
    assert!(copy >= 0);
    drop(first);
    let closer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        // SAFETY: `copy` is ours and still open.
        unsafe { libc::close(copy) };
    });
    let second = Target::open_for_erase(&path, &ctx());
    closer.join().unwrap();
    assert!(second.is_ok(), "{:?}", second.err());
}

#[test]
fn second_erase_handle_on_an_image_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.img");
    std::fs::write(&path, vec![0u8; 4096]).unwrap();
    let _first = Target::open_for_erase(&path, &ctx()).unwrap();
    let err = Target::open_for_erase(&path, &ctx()).unwrap_err();
    assert!(matches!(err, TargetError::Locked { .. }), "{err}");
}

#[test]
fn directories_empty_files_and_missing_paths_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = Target::open_for_erase(dir.path(), &ctx()).unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
    let empty = dir.path().join("empty.img");
    std::fs::write(&empty, b"").unwrap();
    let err = Target::open_for_erase(&empty, &ctx()).unwrap_err();
    assert!(err.to_string().contains("is empty"), "{err}");
    let err = Target::open_for_erase(&dir.path().join("nope"), &ctx()).unwrap_err();
    assert!(matches!(err, TargetError::NotFound { .. }));
}

#[test]
fn image_inside_the_state_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.sqlite");
    std::fs::write(&path, vec![1u8; 4096]).unwrap();
    let ctx = GuardContext::new(vec![dir.path().to_path_buf()], None);
    let err = Target::open_for_erase(&path, &ctx).unwrap_err();
    assert!(
        err.to_string()
            .contains("a file of wipeproof's state directory"),
        "{err}"
    );
    // The same file through a hard link outside the state directory.
    let outside = tempfile::tempdir_in(dir.path().parent().unwrap()).unwrap();
    let link = outside.path().join("innocent.img");
    std::fs::hard_link(&path, &link).unwrap();
    let err = Target::open_for_erase(&link, &ctx).unwrap_err();
    assert!(matches!(err, TargetError::Refused { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}
