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
    b[1..]
        .split(|&c| c == b'/')
        .all(|comp| !comp.is_empty() && comp != b"." && comp != b"..")
}

/// Joins `rel` onto `base` and normalises `.` and `..` lexically (no filesystem access).
/// An absolute `rel` is returned normalised; an empty `base` leaves `rel` as is.
pub fn resolve_path(base: &str, rel: &str) -> String {
    if is_normal_absolute(rel) {
        return rel.to_string();
    }
    let joined;
    let full = if rel.starts_with('/') {
        rel
    } else if base.is_empty() {
        return rel.to_string();
    } else {
        joined = format!("{base}/{rel}");
        &joined
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in full.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = String::with_capacity(full.len());
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
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
}
