//! Open-path resolution (relative to a directory fd or the cwd) and open flags.

/// `O_DIRECTORY` (Linux).
const O_DIRECTORY: u32 = 0o200000;
/// `O_CLOEXEC` (Linux).
const O_CLOEXEC: u32 = 0o2000000;

/// Whether open flags ask for a directory / close-on-exec.
pub fn open_flags(flags: u32) -> (bool, bool) {
    (flags & O_DIRECTORY != 0, flags & O_CLOEXEC != 0)
}

/// True for an absolute path that normalising leaves as is: no empty, `.` or `..`
/// component and no trailing slash (except the root itself).
fn is_normal_absolute(p: &str) -> bool {
    let b = p.as_bytes();
    if b.first() != Some(&b'/') {
        return false;
    }
    if b.len() == 1 {
        return true;
    }
    // One pass: an empty component shows as a slash after a slash or at the end; a
    // `.` or `..` component starts with a dot, and only then are components compared.
    let mut after_slash = true;
    for &c in &b[1..] {
        if after_slash {
            match c {
                b'/' => return false,
                b'.' => return has_only_named_components(&b[1..]),
                _ => {}
            }
        }
        after_slash = c == b'/';
    }
    !after_slash
}

/// True when no `/`-separated component of `b` is empty, `.` or `..`.
fn has_only_named_components(b: &[u8]) -> bool {
    b.split(|&c| c == b'/')
        .all(|comp| !comp.is_empty() && comp != b"." && comp != b"..")
}

/// Joins `rel` onto `base` and normalises `.` and `..` lexically (no filesystem access).
/// An absolute `rel` is returned normalised; an empty `base` leaves `rel` as is.
pub fn resolve_path(base: &str, rel: &str) -> String {
    let mut out = String::new();
    resolve_path_into(&mut out, base, rel);
    out
}

/// [`resolve_path`] into `out` (cleared first), reusing its memory.
pub fn resolve_path_into(out: &mut String, base: &str, rel: &str) {
    resolve_path_into_verbatim(out, base, rel);
}

/// [`resolve_path_into`]; true when `rel` is an absolute path that resolves to itself
/// (then whatever `base` is).
pub(crate) fn resolve_path_into_verbatim(out: &mut String, base: &str, rel: &str) -> bool {
    out.clear();
    if is_normal_absolute(rel) {
        out.push_str(rel);
        return true;
    }
    let joined;
    let full = if rel.starts_with('/') {
        rel
    } else if base.is_empty() {
        out.push_str(rel);
        return false;
    } else {
        joined = format!("{base}/{rel}");
        &joined
    };
    out.reserve(full.len());
    for comp in full.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                // Drop the last component (and its slash).
                let cut = out.rfind('/').unwrap_or(0);
                out.truncate(cut);
            }
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths() {
        assert_eq!(resolve_path("/home/u", "a/b.txt"), "/home/u/a/b.txt");
        assert_eq!(resolve_path("/home/u", "../x"), "/home/x");
        assert_eq!(resolve_path("/", "./x/./y"), "/x/y");
        assert_eq!(resolve_path("/a", "/dev/null"), "/dev/null");
        assert_eq!(resolve_path("", "rel"), "rel");
        assert_eq!(resolve_path("/a", ".."), "/");
        // Already normal absolute paths are returned as they are; others normalised.
        assert_eq!(resolve_path("/a", "/"), "/");
        assert_eq!(resolve_path("", "/tmp/out.bin"), "/tmp/out.bin");
        assert_eq!(resolve_path("", "/a//b/"), "/a/b");
        assert_eq!(resolve_path("", "/a/./b/../c"), "/a/c");
        assert_eq!(resolve_path("", "/.."), "/");
        assert_eq!(resolve_path("", "/a/.b/..c"), "/a/.b/..c");
    }

    #[test]
    fn normal_absolute_paths() {
        for p in [
            "/",
            "/a",
            "/a/b.c",
            "/.a/..b/...",
            "/a./b..",
            "/a/.b/c",
            "/a/b/.c.",
        ] {
            assert!(is_normal_absolute(p), "{p}");
        }
        for p in [
            "", "a", "a/b", "//", "/a/", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/a/.",
            "/.a/../b", "/a/.b/", "//a",
        ] {
            assert!(!is_normal_absolute(p), "{p}");
        }
    }

    #[test]
    fn resolves_into_a_used_buffer() {
        let mut out = String::from("/some/old/longer/path");
        for (base, rel) in [
            ("/home/u", "../x/./y"),
            ("", "/a//b/"),
            ("", "rel"),
            ("/", ".."),
        ] {
            resolve_path_into(&mut out, base, rel);
            assert_eq!(out, resolve_path(base, rel));
        }
    }
}
