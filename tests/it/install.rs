//! `install.sh` (what the GitHub Action runs) takes only a semantic-version tag or `latest`, and
//! a GitHub owner/name: a hostile value is refused before anything is fetched or written.

use std::process::Command;

fn install(version: &str, repo: &str) -> (bool, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("bin");
    let github_path = dir.path().join("github-path");
    std::fs::create_dir(dir.path().join("empty-release")).unwrap();
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/install.sh"))
        .env("OMNI_DBT_VERSION", version)
        .env("OMNI_DBT_REPO", repo)
        // A local release directory that has nothing: a value that passes the checks fails at
        // the fetch instead, with no network.
        .env("OMNI_DBT_BASE", dir.path().join("empty-release"))
        .env("OMNI_DBT_DIR", &target)
        .env("GITHUB_PATH", &github_path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let wrote = target.exists() || github_path.exists();
    (out.status.success(), said, wrote)
}

#[test]
fn only_a_release_tag_or_latest_and_an_owner_name_are_taken() {
    for version in [
        "v1/../../../../elsewhere/x",
        "v1.0.0\n/tmp/evil",
        "v1.0",
        "v01.0.0",
        "1.0.0",
        "v1.0.0-",
        "v1.0.0-..",
        "v1.0.0/../v2.0.0",
    ] {
        let (ok, said, wrote) = install(version, "omni-dbt/omni-dbt");
        assert!(!ok && !wrote, "{version:?}");
        assert!(
            said.contains("OMNI_DBT_VERSION must be"),
            "{version:?}: {said}"
        );
        assert!(
            !said.contains("evil") && !said.contains("elsewhere"),
            "{said}"
        );
    }
    for repo in [
        "../..",
        "omni-dbt/..",
        "omni-dbt/.",
        "a/b/c",
        "-a/b",
        "a",
        "a/b\nc",
    ] {
        let (ok, said, wrote) = install("latest", repo);
        assert!(!ok && !wrote, "{repo:?}");
        assert!(said.contains("OMNI_DBT_REPO must be"), "{repo:?}: {said}");
    }
    for (version, repo) in [
        ("latest", "omni-dbt/omni-dbt"),
        ("v0.1.0", "omni-dbt/omni-dbt"),
        ("v1.2.3-rc.1", "acme-co/omni_dbt.fork"),
    ] {
        let (ok, said, _) = install(version, repo);
        assert!(!ok, "nothing to fetch");
        assert!(said.contains("no omni-dbt-"), "{version} {repo}: {said}");
    }
}
