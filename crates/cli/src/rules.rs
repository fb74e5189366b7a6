//! The rules several commands share, each written once: the connection a command acts on,
//! finding an environment by name or id, never touching the default environment, reading
//! `--var`/`--secret-var`, setting or adding variables, and a user by id or email.

use omni_dbt::{Client, CreateEnvironment, DbtEnvironment, UpdateEnvironment, Uuid};

use crate::{
    cli::{ConnectionArg, OwnerArg, VariableArgs},
    context::Context,
    failure::Failure,
    input,
    output::shown,
    owned::MARKER,
};

/// The connection of a command (the flag, or `OMNI_CONNECTION_ID`).
pub fn connection(arg: &ConnectionArg) -> Result<Uuid, Failure> {
    arg.connection.ok_or_else(|| {
        Failure::Usage("--connection (or OMNI_CONNECTION_ID) is required".to_owned())
    })
}

/// Every environment of the connection (all pages).
pub async fn all_environments(
    client: &Client,
    connection: Uuid,
) -> Result<Vec<DbtEnvironment>, Failure> {
    Ok(client.dbt_environments(connection).list().all().await?)
}

/// How long a run waits for another run of the same file or preview to finish (with a shared
/// store), before it gives up with nothing changed.
pub const LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The lease on what `owner` manages on `connection`: with a shared store, runs of one file
/// (or one preview) change it one at a time, the second planning against what the first left;
/// without one it is uncoordinated, and creates fall back on the copies rule
/// (`CreateEnvironment::one_copy_per`).
pub async fn lease(
    client: &Client,
    connection: Uuid,
    owner: &crate::owned::Owner,
) -> Result<omni_dbt::Lease, Failure> {
    let scope = format!("{connection}/{}", owner.marker());
    Ok(client.lease(&scope, LEASE_WAIT).await?)
}

/// Fails when a held lease was lost (it could not be renewed, so another run may hold it):
/// checked before each change that must not overlap another run's.
pub fn still_held(lease: &omni_dbt::Lease) -> Result<(), Failure> {
    if lease.is_lost() {
        return Err(Failure::Usage(format!(
            "the lease on {:?} was lost (the shared store could not renew it), so another run may \
             be changing the same environments; stopped before the next change",
            lease.scope()
        )));
    }
    Ok(())
}

/// The environments named exactly `name`: none or one, else an error naming every id.
pub fn unique_by_name<'a>(
    all: &'a [DbtEnvironment],
    name: &str,
) -> Result<Option<&'a DbtEnvironment>, Failure> {
    let matching: Vec<&DbtEnvironment> = all.iter().filter(|e| e.name == name).collect();
    match matching.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => {
            let ids: Vec<String> = many.iter().map(|e| e.id.to_string()).collect();
            Err(Failure::Usage(format!(
                "{} environments are named \"{}\"; give one of their ids: {}",
                many.len(),
                shown(name),
                ids.join(", ")
            )))
        }
    }
}

/// An environment by id, or by exact name among all of them. An unknown name is "not found"
/// and an ambiguous one invalid input, each listing the candidates.
pub async fn find(
    client: &Client,
    connection: Uuid,
    name_or_id: &str,
) -> Result<DbtEnvironment, Failure> {
    let all = all_environments(client, connection).await?;
    find_in(&all, connection, name_or_id).cloned()
}

/// [`find`] among environments already listed.
pub fn find_in<'a>(
    all: &'a [DbtEnvironment],
    connection: Uuid,
    name_or_id: &str,
) -> Result<&'a DbtEnvironment, Failure> {
    if let Ok(id) = Uuid::parse_str(name_or_id) {
        return all.iter().find(|e| e.id == id).ok_or_else(|| {
            Failure::NotFound(format!(
                "no environment with id {id} on connection {connection}"
            ))
        });
    }
    match unique_by_name(all, name_or_id)? {
        Some(one) => Ok(one),
        None => {
            let names: Vec<String> = all.iter().map(|e| shown(&e.name)).collect();
            Err(Failure::NotFound(format!(
                "no environment named \"{}\" on connection {connection}; it has: {}",
                shown(name_or_id),
                names.join(", ")
            )))
        }
    }
}

/// Refuses to delete the connection's default environment.
pub fn never_default(env: &DbtEnvironment) -> Result<(), Failure> {
    if env.is_default_environment {
        Err(Failure::Usage(format!(
            "{} ({}) is the connection's default environment; it is never deleted",
            shown(&env.name),
            env.id
        )))
    } else {
        Ok(())
    }
}

/// One variable a command sets.
pub struct VarValue {
    pub name: String,
    pub value: String,
    pub secret: bool,
}

/// `--var NAME=VALUE` and `--secret-var NAME`, read and checked (no empty name, no empty
/// secret, not the ownership marker).
pub fn variables(ctx: &Context, args: &VariableArgs) -> Result<Vec<VarValue>, Failure> {
    let mut out = Vec::new();
    for var in &args.vars {
        let (name, value) = var
            .split_once('=')
            .ok_or_else(|| Failure::Usage(format!("--var {var}: expected NAME=VALUE")))?;
        out.push(VarValue {
            name: name.to_owned(),
            value: value.to_owned(),
            secret: false,
        });
    }
    let from_stdin = args
        .secret_vars
        .iter()
        .filter(|name| std::env::var_os(name).is_none())
        .count();
    if from_stdin > 1 {
        return Err(Failure::Usage(
            "--secret-var: at most one secret can come from standard input; set the \
             environment variable of each secret's name"
                .to_owned(),
        ));
    }
    // Before any value is read: the CLI's credentials are never sent as a secret.
    for name in &args.secret_vars {
        if let Some(why) = crate::secrets::refused(name) {
            return Err(Failure::Usage(format!(
                "--secret-var {name}: the environment variable {name} {why}; give the secret \
                 another name (its value is read from the variable of that name)"
            )));
        }
    }
    for name in &args.secret_vars {
        out.push(VarValue {
            name: name.clone(),
            value: input::secret_var(name, !ctx.stdin_taken)?,
            secret: true,
        });
    }
    for v in &out {
        let flag = if v.secret { "--secret-var" } else { "--var" };
        if v.name.trim().is_empty() {
            return Err(Failure::Usage(format!(
                "{flag}: the name must not be empty"
            )));
        }
        if v.name == MARKER {
            return Err(Failure::Usage(format!(
                "{flag} {MARKER}: omni-dbt records ownership in this variable; it cannot be set"
            )));
        }
    }
    Ok(out)
}

/// Adds each variable to a create.
pub fn with_new_variables(mut create: CreateEnvironment, vars: &[VarValue]) -> CreateEnvironment {
    for v in vars {
        create = if v.secret {
            create.add_secret_variable(&v.name, &v.value)
        } else {
            create.add_variable(&v.name, &v.value)
        };
    }
    create
}

/// Sets each variable: an existing one (by name) gets the value (and the kind asked for), a
/// new one is created.
pub fn with_variables(
    mut update: UpdateEnvironment,
    current: &DbtEnvironment,
    vars: &[VarValue],
) -> UpdateEnvironment {
    for v in vars {
        update = match (current.variable(&v.name), v.secret) {
            (Some(existing), true) => update.set_secret_variable(existing.id, &v.value),
            (Some(existing), false) => update.set_variable(existing.id, &v.value),
            (None, true) => update.add_secret_variable(&v.name, &v.value),
            (None, false) => update.add_variable(&v.name, &v.value),
        };
    }
    update
}

/// Whether this client may set an environment's owner, asked before anything is changed: an
/// Organization API key may, a Personal Access Token may not (Omni answers 400). `at` names
/// the flag or key in errors. A token of unknown kind (from a file or `OMNI_API_TOKEN`: nothing in its text
/// says) is asked with one read Omni allows only to Organization API keys (a SCIM lookup), so
/// that an apply that sets owners fails before its first change, not after some of them.
pub async fn owners_may_be_set(client: &Client, at: &str) -> Result<(), Failure> {
    match client.token_kind() {
        omni_dbt::TokenKind::PersonalAccessToken => {
            return Err(owner_needs_org_key(
                at,
                "this token is a Personal Access Token",
            ));
        }
        omni_dbt::TokenKind::Unknown => {}
        _ => return Ok(()),
    }
    match client
        .users()
        .by_email("omni-dbt-token-kind-probe@example.invalid")
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(omni_dbt::Error::Unauthorized { .. } | omni_dbt::Error::Forbidden { .. }) => {
            Err(owner_needs_org_key(
                at,
                "Omni's SCIM API refused this token (a Personal Access Token?)",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Setting an owner with a token that cannot: said in Omni's terms, with what to do instead.
fn owner_needs_org_key(at: &str, why: &str) -> Failure {
    Failure::Usage(format!(
        "{at}: setting an owner needs an Organization API key, and {why}; with a Personal \
         Access Token Omni makes every environment the token's user's, so leave {at} out (or \
         use an Organization API key); nothing was changed"
    ))
}

/// The user `owner` names, as an id: an id as given, an email looked up through Omni's SCIM
/// API (which takes Organization API keys only).
/// Either way only with a token that may set an owner ([`owners_may_be_set`]).
pub async fn resolve_owner(client: &Client, owner: &OwnerArg, at: &str) -> Result<Uuid, Failure> {
    let email = match owner {
        OwnerArg::Id(id) => {
            owners_may_be_set(client, at).await?;
            return Ok(*id);
        }
        OwnerArg::Email(email) => email,
    };
    match client.users().by_email(email.as_str()).send().await {
        Ok(Some(user)) => Ok(user.id),
        Ok(None) => Err(Failure::NotFound(format!(
            "{at} {}: no Omni user has this email",
            shown(email)
        ))),
        Err(omni_dbt::Error::InvalidInput { field, .. }) if field == "token" => Err(
            owner_needs_org_key(at, "this token is a Personal Access Token"),
        ),
        // SCIM answers 401 to a personal access token (whose kind the CLI cannot know).
        Err(omni_dbt::Error::Unauthorized { .. } | omni_dbt::Error::Forbidden { .. }) => {
            Err(owner_needs_org_key(
                at,
                "Omni's SCIM API refused this token (a Personal Access Token?)",
            ))
        }
        Err(omni_dbt::Error::InvalidInput { rule, .. }) => {
            Err(Failure::Usage(format!("{at} {}: {rule}", shown(email))))
        }
        Err(e) => Err(e.into()),
    }
}

/// That the model exists (and the token can see it): one read, `GET /v1/models?modelId=…`.
/// Asked only when something about the model came back empty (no branch of a name), so that
/// "no branch" is not said of a model that is not there.
pub async fn model_exists(client: &Client, model: Uuid, at: &str) -> Result<(), Failure> {
    let list = client
        .api()
        .models_list()
        .model_id(model)
        .send()
        .await
        .map_err(omni_dbt::Error::from)?
        .into_inner();
    if list.records.iter().any(|r| r.id == model.to_string()) {
        Ok(())
    } else {
        Err(Failure::NotFound(format!(
            "{at} {model}: Omni has no such model (or this token cannot see it); nothing was \
             changed"
        )))
    }
}
