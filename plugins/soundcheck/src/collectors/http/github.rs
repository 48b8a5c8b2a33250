//! GitHub (REST API v3, `X-GitHub-Api-Version: 2022-11-28`): repository
//! settings, branch protection of the default branch, CODEOWNERS, and the
//! latest finished workflow run on the default branch.
//!
//! For an entity annotated `github.com/project-slug: <owner>/<repo>` it
//! asks, under the base URL:
//!
//! 1. `GET /repos/{owner}/{repo}` — the repository;
//! 2. `GET /repos/{owner}/{repo}/branches/{default}/protection` — `404
//!    Branch not protected` means exactly that;
//! 3. `GET /repos/{owner}/{repo}/contents/{path}` for `.github/CODEOWNERS`,
//!    `CODEOWNERS` and `docs/CODEOWNERS`, GitHub's order, until one exists;
//! 4. `GET /repos/{owner}/{repo}/actions/runs?branch={default}&status=completed&per_page=1&exclude_pull_requests=true`.
//!
//! and keeps this fact (paths for rules: `github.branch_protection.required_reviews`):
//!
//! ```json
//! {
//!   "repository": "acme/order-service",
//!   "url": "https://github.com/acme/order-service",
//!   "default_branch": "main",
//!   "visibility": "internal", "archived": false,
//!   "delete_branch_on_merge": true,
//!   "allow_merge_commit": false, "allow_squash_merge": true,
//!   "allow_rebase_merge": false, "allow_auto_merge": true,
//!   "branch_protection": {
//!     "enabled": true, "required_reviews": 2, "require_code_owner_reviews": true,
//!     "dismiss_stale_reviews": true, "required_status_checks": ["build", "test"],
//!     "strict_status_checks": true, "enforce_admins": true,
//!     "allow_force_pushes": false, "allow_deletions": false,
//!     "required_linear_history": true, "required_conversation_resolution": true
//!   },
//!   "has_codeowners": true,
//!   "codeowners": { "path": ".github/CODEOWNERS", "owners": ["@acme/team-orders"] },
//!   "latest_run": {
//!     "workflow": "CI", "status": "completed", "conclusion": "success",
//!     "run_number": 1056, "branch": "main", "event": "push",
//!     "url": "https://github.com/acme/order-service/actions/runs/…",
//!     "created_at": "2025-11-22T13:16:42Z"
//!   }
//! }
//! ```
//!
//! An unprotected branch has `enabled: false`, no required reviews and no
//! checks, so rules over it fail rather than find nothing; a repository
//! without a finished run has `latest_run: null`.

use super::{CollectError, HostHttp, Instance, Upstream, json, segment, unexpected};
use crate::config::CollectorConfig;
use greenroom_sdk::Entity;
use greenroom_sdk::http::{Request, Response};
use serde_json::{Value, json};

/// GitHub's API, unless the instance says otherwise (Enterprise Server:
/// `https://<host>/api/v3`).
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";

/// The annotation naming the repository.
pub const ANNOTATION: &str = "github.com/project-slug";

/// Where GitHub looks for CODEOWNERS, in its order.
const CODEOWNERS_PATHS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// The API version the fields read here are documented for.
const API_VERSION: &str = "2022-11-28";

/// The most requests one entity costs: repository, protection, three CODEOWNERS places, runs.
pub const REQUESTS_PER_ENTITY: u32 = 6;

/// Collects the GitHub fact of an entity (a [`CollectFn`](crate::collectors::CollectFn)).
pub fn collect(config: &CollectorConfig, entity: &Entity) -> Result<Value, CollectError> {
    let instance = Instance::of(config, DEFAULT_BASE_URL)?;
    collect_with(&instance, &entity.annotations, &HostHttp)
}

/// [`collect`], for an entity with these annotations, through `upstream`.
pub fn collect_with(
    instance: &Instance,
    annotations: &[(String, String)],
    upstream: &dyn Upstream,
) -> Result<Value, CollectError> {
    let slug = Instance::annotation(annotations, ANNOTATION)?;
    let (owner, repo) = parse_slug(slug)?;
    let base = format!("/repos/{}/{}", segment(owner), segment(repo));
    let what = format!("repos/{owner}/{repo}");

    let response = send(instance, upstream, &base)?;
    let repository = match response.status {
        200 => json(&response, "GitHub")?,
        404 => {
            return Err(CollectError::Upstream(format!(
                "GitHub answered 404 for {what}: the repository does not exist or the token \
                 cannot see it"
            )));
        }
        _ => return Err(unexpected("GitHub", &what, &response, instance)),
    };
    let mut fact = repository_fact(&repository)?;
    let branch = fact["default_branch"].as_str().unwrap_or("main").to_owned();

    let path = format!("{base}/branches/{}/protection", segment(&branch));
    let response = send(instance, upstream, &path)?;
    fact["branch_protection"] = match response.status {
        200 => protection_fact(&json(&response, "GitHub")?),
        404 if message(&response).as_deref() == Some("Branch not protected") => unprotected(),
        404 | 403 => {
            return Err(CollectError::Upstream(format!(
                "GitHub answered {} for {what}/branches/{branch}/protection without saying \
                 whether the branch is protected: the token needs read access to the \
                 repository's administration settings",
                response.status
            )));
        }
        _ => {
            return Err(unexpected(
                "GitHub",
                &format!("{what}/branches/{branch}/protection"),
                &response,
                instance,
            ));
        }
    };

    fact["codeowners"] = Value::Null;
    for file in CODEOWNERS_PATHS {
        let response = send(instance, upstream, &format!("{base}/contents/{file}"))?;
        match response.status {
            200 => {
                fact["codeowners"] = codeowners_fact(&json(&response, "GitHub")?);
                break;
            }
            404 => {}
            _ => {
                return Err(unexpected(
                    "GitHub",
                    &format!("{what}/contents/{file}"),
                    &response,
                    instance,
                ));
            }
        }
    }
    fact["has_codeowners"] = Value::Bool(!fact["codeowners"].is_null());

    let request = instance.get(&format!("{base}/actions/runs"))?.query(&[
        ("branch", branch.as_str()),
        ("status", "completed"),
        ("per_page", "1"),
        ("exclude_pull_requests", "true"),
    ]);
    let response = instance.send(upstream, headers(request))?;
    fact["latest_run"] = match response.status {
        200 => latest_run_fact(&json(&response, "GitHub")?),
        // Actions disabled, or no workflows: nothing ran.
        404 => Value::Null,
        _ => {
            return Err(unexpected(
                "GitHub",
                &format!("{what}/actions/runs"),
                &response,
                instance,
            ));
        }
    };
    Ok(fact)
}

fn send(
    instance: &Instance,
    upstream: &dyn Upstream,
    path: &str,
) -> Result<Response, CollectError> {
    instance.send(upstream, headers(instance.get(path)?))
}

/// The headers GitHub asks every client to send (a request without a
/// `user-agent` is refused).
fn headers(request: Request) -> Request {
    request
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", API_VERSION)
        .header("user-agent", "greenroom-soundcheck")
}

/// `owner/repo`, each GitHub's characters.
fn parse_slug(slug: &str) -> Result<(&str, &str), CollectError> {
    let valid = |part: &str| {
        !part.is_empty()
            && part.len() <= 100
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && part != "."
            && part != ".."
    };
    match slug.split_once('/') {
        Some((owner, repo)) if valid(owner) && valid(repo) => Ok((owner, repo)),
        _ => Err(CollectError::Upstream(format!(
            "`{ANNOTATION}: {slug}` is not `<owner>/<repository>` (e.g. `acme/order-service`)"
        ))),
    }
}

/// GitHub's `message` in an error body.
fn message(response: &Response) -> Option<String> {
    let body: Value = serde_json::from_slice(&response.body).ok()?;
    body["message"].as_str().map(str::to_owned)
}

/// The repository's settings (`GET /repos/{owner}/{repo}`).
pub fn repository_fact(repository: &Value) -> Result<Value, CollectError> {
    let full_name = repository["full_name"].as_str().ok_or_else(|| {
        CollectError::Upstream("GitHub's answer for the repository has no `full_name`".into())
    })?;
    let flag = |name: &str| repository[name].as_bool();
    Ok(json!({
        "repository": full_name,
        "url": repository["html_url"],
        "default_branch": repository["default_branch"].as_str().unwrap_or("main"),
        "visibility": repository["visibility"],
        "private": flag("private"),
        "archived": flag("archived").unwrap_or(false),
        "language": repository["language"],
        "topics": repository["topics"],
        // Present only when the token may see the settings; null otherwise.
        "delete_branch_on_merge": flag("delete_branch_on_merge"),
        "allow_merge_commit": flag("allow_merge_commit"),
        "allow_squash_merge": flag("allow_squash_merge"),
        "allow_rebase_merge": flag("allow_rebase_merge"),
        "allow_auto_merge": flag("allow_auto_merge"),
        "pushed_at": repository["pushed_at"],
        "open_issues": repository["open_issues_count"],
    }))
}

/// Branch protection (`GET …/branches/{branch}/protection`).
pub fn protection_fact(protection: &Value) -> Value {
    let reviews = &protection["required_pull_request_reviews"];
    let checks = &protection["required_status_checks"];
    let enabled = |name: &str| protection[name]["enabled"].as_bool().unwrap_or(false);
    // `checks` replaced `contexts`; older servers send only `contexts`.
    let mut names: Vec<&str> = checks["checks"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["context"].as_str()).collect())
        .unwrap_or_default();
    if names.is_empty() {
        names = checks["contexts"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
    }
    json!({
        "enabled": true,
        "required_reviews": if reviews.is_object() {
            reviews["required_approving_review_count"].as_u64().unwrap_or(1)
        } else {
            0
        },
        "require_code_owner_reviews": reviews["require_code_owner_reviews"].as_bool().unwrap_or(false),
        "dismiss_stale_reviews": reviews["dismiss_stale_reviews"].as_bool().unwrap_or(false),
        "required_status_checks": names,
        "strict_status_checks": checks["strict"].as_bool().unwrap_or(false),
        "enforce_admins": enabled("enforce_admins"),
        "allow_force_pushes": enabled("allow_force_pushes"),
        "allow_deletions": enabled("allow_deletions"),
        "required_linear_history": enabled("required_linear_history"),
        "required_conversation_resolution": enabled("required_conversation_resolution"),
        "required_signatures": enabled("required_signatures"),
    })
}

/// An unprotected branch, in the same fields as a protected one.
fn unprotected() -> Value {
    json!({
        "enabled": false,
        "required_reviews": 0,
        "require_code_owner_reviews": false,
        "dismiss_stale_reviews": false,
        "required_status_checks": [],
        "strict_status_checks": false,
        "enforce_admins": false,
        "allow_force_pushes": true,
        "allow_deletions": true,
        "required_linear_history": false,
        "required_conversation_resolution": false,
        "required_signatures": false,
    })
}

/// A CODEOWNERS file (`GET …/contents/{path}`): where it is, and the
/// owners it names.
pub fn codeowners_fact(content: &Value) -> Value {
    let text = match content["encoding"].as_str() {
        Some("base64") => content["content"].as_str().and_then(decode_base64),
        _ => None,
    };
    let mut owners: Vec<String> = Vec::new();
    for line in text.as_deref().unwrap_or_default().lines() {
        let line = line.split('#').next().unwrap_or_default();
        for owner in line.split_whitespace().skip(1) {
            if !owners.iter().any(|o| o == owner) {
                owners.push(owner.to_owned());
            }
        }
    }
    json!({ "path": content["path"], "owners": owners })
}

/// The newest finished run (`GET …/actions/runs?…&per_page=1`), or null.
pub fn latest_run_fact(runs: &Value) -> Value {
    let Some(run) = runs["workflow_runs"].as_array().and_then(|r| r.first()) else {
        return Value::Null;
    };
    json!({
        "workflow": run["name"],
        "status": run["status"],
        "conclusion": run["conclusion"],
        "run_number": run["run_number"],
        "branch": run["head_branch"],
        "event": run["event"],
        "url": run["html_url"],
        "created_at": run["created_at"],
    })
}

/// Standard base64, line breaks allowed (GitHub wraps at 60 columns).
fn decode_base64(text: &str) -> Option<String> {
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{Recorded, annotations, instance, read};
    use super::*;
    use crate::config::CollectorKind;

    fn file(path: &str) -> Value {
        serde_json::from_slice(&read(path)).expect("JSON")
    }

    fn collect(slug: &str) -> (Result<Value, CollectError>, Vec<String>) {
        let upstream = Recorded::default();
        let result = collect_with(
            &instance(CollectorKind::Github, Some("github")),
            &annotations(&[("github.com/project-slug", slug)]),
            &upstream,
        );
        (result, upstream.paths())
    }

    fn fact(slug: &str) -> Value {
        match collect(slug).0 {
            Ok(fact) => fact,
            other => panic!("{slug}: {other:?}"),
        }
    }

    #[test]
    fn reads_a_repositorys_settings() {
        let fact = repository_fact(&file("github/repos/acme/order-service.json")).expect("valid");
        assert_eq!(fact["repository"], "acme/order-service");
        assert_eq!(fact["default_branch"], "main");
        assert_eq!(fact["visibility"], "internal");
        assert_eq!(fact["archived"], false);
        assert_eq!(fact["delete_branch_on_merge"], true);
        assert_eq!(fact["allow_merge_commit"], false);
        assert_eq!(fact["allow_squash_merge"], true);
        assert_eq!(fact["url"], "https://github.com/acme/order-service");
        let archived =
            repository_fact(&file("github/repos/acme/storefront-legacy.json")).expect("valid");
        assert_eq!(archived["archived"], true);
        assert_eq!(archived["default_branch"], "master");
    }

    #[test]
    fn reads_branch_protection() {
        let strict = protection_fact(&file(
            "github/repos/acme/order-service/branches/main/protection.json",
        ));
        assert_eq!(strict["enabled"], true);
        assert_eq!(strict["required_reviews"], 2);
        assert_eq!(strict["require_code_owner_reviews"], true);
        assert_eq!(strict["required_status_checks"], json!(["build", "test"]));
        assert_eq!(strict["strict_status_checks"], true);
        assert_eq!(strict["enforce_admins"], true);
        assert_eq!(strict["allow_force_pushes"], false);
        let basic = protection_fact(&file(
            "github/repos/acme/order-history-service/branches/main/protection.json",
        ));
        assert_eq!(basic["required_reviews"], 1);
        assert_eq!(basic["enforce_admins"], false);
    }

    #[test]
    fn older_servers_name_required_checks_only_in_contexts() {
        let fact = protection_fact(&json!({
            "required_status_checks": { "strict": false, "contexts": ["ci/jenkins"] },
        }));
        assert_eq!(fact["required_status_checks"], json!(["ci/jenkins"]));
        assert_eq!(fact["required_reviews"], 0, "no review rule at all");
    }

    #[test]
    fn reads_codeowners_and_the_owners_it_names() {
        let fact = codeowners_fact(&file(
            "github/repos/acme/order-service/contents/.github/CODEOWNERS.json",
        ));
        assert_eq!(fact["path"], ".github/CODEOWNERS");
        assert_eq!(
            fact["owners"],
            json!([
                "@acme/team-orders",
                "@acme/team-devex",
                "@acme/team-platform-infra"
            ])
        );
    }

    #[test]
    fn reads_the_latest_finished_run() {
        let run = latest_run_fact(&file(
            "github/repos/acme/shipping-service/actions/runs.json",
        ));
        assert_eq!(run["workflow"], "CI");
        assert_eq!(run["status"], "completed");
        assert_eq!(run["conclusion"], "failure");
        assert_eq!(run["branch"], "main");
        assert!(
            run["url"]
                .as_str()
                .expect("a URL")
                .starts_with("https://github.com/acme/shipping-service/actions/runs/")
        );
        assert_eq!(
            latest_run_fact(&file(
                "github/repos/acme/storefront-legacy/actions/runs.json"
            )),
            Value::Null
        );
    }

    #[test]
    fn collects_a_well_kept_repository_with_four_requests() {
        let (result, paths) = collect("acme/order-service");
        let Ok(fact) = result else {
            panic!("{result:?}")
        };
        assert_eq!(
            paths,
            [
                "/github/repos/acme/order-service",
                "/github/repos/acme/order-service/branches/main/protection",
                "/github/repos/acme/order-service/contents/.github/CODEOWNERS",
                "/github/repos/acme/order-service/actions/runs?branch=main&status=completed&per_page=1&exclude_pull_requests=true",
            ]
        );
        assert_eq!(fact["branch_protection"]["required_reviews"], 2);
        assert_eq!(fact["has_codeowners"], true);
        assert_eq!(fact["latest_run"]["conclusion"], "success");
    }

    #[test]
    fn an_unprotected_branch_and_missing_codeowners_are_facts_not_errors() {
        let (result, paths) = collect("acme/order-notifications");
        let Ok(fact) = result else {
            panic!("{result:?}")
        };
        assert_eq!(fact["branch_protection"]["enabled"], false);
        assert_eq!(fact["branch_protection"]["required_reviews"], 0);
        assert_eq!(fact["has_codeowners"], false);
        assert_eq!(fact["codeowners"], Value::Null);
        assert_eq!(paths.len(), 6, "all three CODEOWNERS places: {paths:?}");
    }

    #[test]
    fn codeowners_at_the_root_is_found_second() {
        let fact = fact("acme/order-history-service");
        assert_eq!(fact["codeowners"]["path"], "CODEOWNERS");
    }

    #[test]
    fn the_default_branch_is_the_repositorys_own() {
        let (_, paths) = collect("acme/carrier-gateway");
        assert!(
            paths.contains(
                &"/github/repos/acme/carrier-gateway/branches/master/protection".to_owned()
            ),
            "{paths:?}"
        );
        assert_eq!(
            fact("acme/carrier-gateway")["latest_run"]["conclusion"],
            "failure"
        );
    }

    #[test]
    fn a_missing_repository_says_so() {
        let (result, paths) = collect("acme/legacy-billing-adapter");
        assert_eq!(
            result,
            Err(CollectError::Upstream(
                "GitHub answered 404 for repos/acme/legacy-billing-adapter: the repository does not exist or the token cannot see it".into()
            ))
        );
        assert_eq!(paths.len(), 1);
    }

    #[test]
    fn the_credential_is_named_on_every_request() {
        let upstream = Recorded::default();
        collect_with(
            &instance(CollectorKind::Github, Some("github")),
            &annotations(&[("github.com/project-slug", "acme/order-service")]),
            &upstream,
        )
        .expect("collected");
        assert!(
            upstream
                .asked
                .borrow()
                .iter()
                .all(|(_, credential)| credential.as_deref() == Some("github"))
        );
    }

    #[test]
    fn an_entity_without_the_annotation_has_nothing_to_collect() {
        let upstream = Recorded::default();
        let result = collect_with(
            &instance(CollectorKind::Github, None),
            &annotations(&[("backstage.io/techdocs-ref", "dir:.")]),
            &upstream,
        );
        assert!(
            matches!(result, Err(CollectError::NotApplicable(_))),
            "{result:?}"
        );
        assert!(upstream.paths().is_empty(), "no request is made");
    }

    #[test]
    fn refuses_a_slug_that_is_not_owner_and_repository() {
        for slug in [
            "acme",
            "acme/",
            "/repo",
            "acme/shop/extra",
            "acme/../x",
            "ac me/shop",
        ] {
            assert!(parse_slug(slug).is_err(), "{slug} was accepted");
        }
        assert_eq!(
            parse_slug("acme/shop.js").expect("valid"),
            ("acme", "shop.js")
        );
    }

    #[test]
    fn decodes_githubs_wrapped_base64() {
        assert_eq!(decode_base64("aGVs\nbG8=\n").as_deref(), Some("hello"));
        assert_eq!(decode_base64("not base64!"), None);
    }
}
