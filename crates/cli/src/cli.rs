//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use omni_dbt::Uuid;

use crate::flags::{CreateProperties, PreviewProperties, UpdateProperties};
pub use crate::owned::{OwnerArg, parse_owner};

/// Exit codes, by what a script has to decide.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  any other failure (a server error, an unexpected answer, a transport error)
  2  usage error or invalid input: nothing was sent
  3  authentication or permission (401, 403): fix the token or ask for Connection Admin
  4  not found (404, or a name that matches no environment)
  5  rate limited, after the client's retries
  6  outcome unknown: a create may or may not have happened; list before retrying
  7  a schema refresh failed or did not finish in time
  130  interrupted (SIGINT, SIGTERM) during `env apply`: what had finished is said
An `env apply` whose failed steps all failed alike exits with that kind's code (3, 4, 5, 6);
a mix exits 1. Under `env plan --detailed-exitcode`: 0 no changes, 2 changes, 1 any error.";

#[derive(Parser, Debug)]
#[command(
    name = "omni-dbt",
    version,
    about = "Omni dbt environments from pipelines: by name or id, the connection's dbt configuration, \
             a model's dbt exposures, and pull-request previews",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command shares. The token is never taken from the command line.
#[derive(Args, Debug)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// The Omni CLI profile to read (from OMNI_CONFIG_PATH or ~/.config/omni-cli/config.json).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// The API base URL, e.g. https://acme.omniapp.co (default: OMNI_BASE_URL, then the profile).
    #[arg(long, global = true, conflicts_with = "instance")]
    pub base_url: Option<String>,
    /// The production instance name: https://NAME.omniapp.co.
    #[arg(long, global = true)]
    pub instance: Option<String>,
    /// Read the API token from this file (default: OMNI_API_TOKEN, then the profile).
    #[arg(long, global = true, conflicts_with = "token_stdin")]
    pub token_file: Option<PathBuf>,
    /// Read the API token from the first line of standard input.
    #[arg(long, global = true)]
    pub token_stdin: bool,
    /// Requests per minute this token may send (Omni's default is 60; an instance can be raised
    /// to 500). The client paces itself at this rate.
    #[arg(long, global = true, value_name = "PER_MINUTE", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: Option<u32>,
    /// Share the token's rate limit with every pipeline pointed at this Redis
    /// (`redis://host:port/`, or `rediss://` for TLS; also `OMNI_RATE_LIMIT_STORE`). Optional: without it each run
    /// paces itself. An unreachable store is warned about and the run paces locally.
    #[arg(long, global = true, value_name = "URL")]
    pub rate_limit_store: Option<String>,
    /// Output format: a table on a terminal, JSON otherwise.
    #[arg(long, global = true, value_enum)]
    pub output: Option<Output>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show the configuration in effect and where each setting came from (token redacted).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// dbt environments of a connection, by name or id.
    Env {
        #[command(subcommand)]
        command: EnvCommand,
    },
    /// The connection's dbt configuration.
    Dbt {
        #[command(subcommand)]
        command: DbtCommand,
    },
    /// A model's dbt exposures.
    Exposures {
        #[command(subcommand)]
        command: ExposuresCommand,
    },
    /// A dbt environment per pull request: create or update it and point the model's branch
    /// at it (`up`), or delete it (`down`).
    Preview {
        #[command(subcommand)]
        command: PreviewCommand,
    },
    /// Print shell completions.
    #[command(
        after_help = "Examples:\n  omni-dbt completions bash > /etc/bash_completion.d/omni-dbt"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Where the base URL, the token and the connection come from.
    #[command(after_help = "Examples:\n  omni-dbt config show")]
    Show(ConnectionArg),
}

#[derive(Args, Debug, Clone)]
pub struct ConnectionArg {
    /// The connection (default: OMNI_CONNECTION_ID).
    #[arg(long, env = "OMNI_CONNECTION_ID")]
    pub connection: Option<Uuid>,
}

#[derive(Subcommand, Debug)]
pub enum EnvCommand {
    /// Every environment of the connection (all pages).
    #[command(
        after_help = "Examples:\n  omni-dbt env list\n  omni-dbt env list --output json | jq -r '.[].name'"
    )]
    List(ConnectionArg),
    /// One environment, by name or id.
    #[command(after_help = "Examples:\n  omni-dbt env get staging")]
    Get {
        #[command(flatten)]
        connection: ConnectionArg,
        /// The environment's name or id.
        env: String,
    },
    /// Create an environment (unmarked, like one made in Omni: no file or preview manages it,
    /// so no `--prune` or `preview down` deletes it).
    #[command(
        after_help = "Examples:\n  omni-dbt env create staging --target-schema dbt_staging --var DBT_TARGET=staging\n  DBT_PASSWORD=... omni-dbt env create ci --target-schema dbt_ci --secret-var DBT_PASSWORD"
    )]
    Create {
        #[command(flatten)]
        connection: ConnectionArg,
        /// Its name.
        name: String,
        #[command(flatten)]
        fields: CreateFields,
        #[command(flatten)]
        variables: VariableArgs,
    },
    /// Change an environment: only what is given changes.
    #[command(
        after_help = "Examples:\n  omni-dbt env update staging --target-schema dbt_staging_v2 --clear-target-role"
    )]
    Update {
        #[command(flatten)]
        connection: ConnectionArg,
        /// The environment's name or id.
        env: String,
        #[command(flatten)]
        fields: UpdateFields,
        #[command(flatten)]
        variables: VariableArgs,
    },
    /// Show what `apply` would change to make the connection's environments match a YAML file.
    #[command(
        after_help = "Examples:\n  omni-dbt env plan -f environments.yaml --detailed-exitcode\n  omni-dbt env plan -f environments.yaml --plan-format markdown >> \"$GITHUB_STEP_SUMMARY\"\n\nExit codes with --detailed-exitcode: 0 no changes, 2 changes, 1 any error."
    )]
    Plan {
        #[command(flatten)]
        connection: ConnectionArg,
        #[command(flatten)]
        apply: ApplyArgs,
        /// Exit 0 when nothing would change, 2 when something would, 1 on any error.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Make the connection's environments match a YAML file (shows the plan first).
    #[command(
        after_help = "Examples:\n  omni-dbt env apply -f environments.yaml --yes\n  omni-dbt env apply -f environments.yaml --yes --prune --target staging"
    )]
    Apply {
        #[command(flatten)]
        connection: ConnectionArg,
        #[command(flatten)]
        apply: ApplyArgs,
        /// Apply without asking (required when standard input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Write the connection's environments as an environments file (YAML), to adopt an
    /// existing setup: a `plan` of the export says "No changes". Secret values are never
    /// exported: each is a `${NAME}` reference to set when a create needs it.
    #[command(
        after_help = "Examples:\n  omni-dbt env export > environments.yaml\n  omni-dbt env export --managed-by analytics --target staging"
    )]
    Export {
        #[command(flatten)]
        connection: ConnectionArg,
        /// The `managedBy` id to write. Environments marked with another file's id, or as a
        /// preview, are left out (and said). Without it the file's id is its name, and
        /// environments marked `file:environments.yaml` count as its own: export to that name.
        #[arg(long)]
        managed_by: Option<String>,
        /// Only these environments, by name (repeatable; default: all).
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
    },
    /// Delete an environment (never the connection's default).
    #[command(after_help = "Examples:\n  omni-dbt env delete old-staging --yes")]
    Delete {
        #[command(flatten)]
        connection: ConnectionArg,
        /// The environment's name or id.
        env: String,
        /// Delete without asking (required when standard input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The environments file (YAML).
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Also delete environments the file does not name (never the default one). Only for a
    /// file with its own `managedBy` id, and only environments marked with it.
    #[arg(long)]
    pub prune: bool,
    /// With --prune, accept a file that names no environment: every environment marked with
    /// its id is deleted.
    #[arg(long, requires = "prune")]
    pub allow_empty: bool,
    /// Re-send secret variables' values (Omni never returns them, so they are not compared).
    #[arg(long)]
    pub rotate_secrets: bool,
    /// Plan and apply only these environments, by name (repeatable): the others are neither
    /// changed nor pruned.
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
    /// How to print the plan: `text` (like terraform's), `json` (stable, the API's field
    /// names) or `markdown` (for a pull-request comment or a job summary). Default: text on a
    /// terminal, JSON otherwise (as --output).
    #[arg(long, value_enum)]
    pub plan_format: Option<PlanFormat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Args, Debug)]
pub struct CreateFields {
    /// A flag per property of the spec's environment (`--target-schema`, …).
    #[command(flatten)]
    pub properties: CreateProperties,
    /// The owning user, by id or email (a personal environment; Organization API key only;
    /// YAML: ownerId or owner).
    #[arg(long, value_name = "USER_ID|EMAIL", value_parser = parse_owner)]
    pub owner: Option<OwnerArg>,
}

#[derive(Args, Debug)]
pub struct UpdateFields {
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    /// A flag per property of the spec's environment, and `--clear-…` for each nullable one.
    #[command(flatten)]
    pub properties: UpdateProperties,
    /// New owner, by id or email (Organization API key only).
    #[arg(long, conflicts_with = "clear_owner", value_name = "USER_ID|EMAIL", value_parser = parse_owner)]
    pub owner: Option<OwnerArg>,
    /// Clear the owner (sends null; Organization API key only).
    #[arg(long)]
    pub clear_owner: bool,
}

#[derive(Args, Debug, Default, Clone)]
pub struct VariableArgs {
    /// A variable, NAME=VALUE (repeatable). An existing variable of that name gets the value.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// A secret variable NAME whose value is read from the environment variable of the same
    /// name, or (when that is unset) from standard input; never from the command line.
    #[arg(long = "secret-var", value_name = "NAME")]
    pub secret_vars: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum DbtCommand {
    /// The configuration, or Omni's message when there is none.
    #[command(after_help = "Examples:\n  omni-dbt dbt show")]
    Show(ConnectionArg),
    /// Change the configuration: only what is given changes (the rest is read first and sent
    /// as it is); the change is shown. `--replace` sends only what is given.
    #[command(
        after_help = "Examples:\n  omni-dbt dbt set --branch release\n  omni-dbt dbt set --replace --ssh-url git@github.com:acme/dbt.git --branch main \\\n    --autogen-relationships true --virtual-schemas false"
    )]
    Set {
        #[command(flatten)]
        connection: ConnectionArg,
        /// One flag per property of the configuration, from Omni's spec, and `--replace`.
        #[command(flatten)]
        config: crate::flags::DbtConfigArgs,
    },
    /// Remove the configuration.
    #[command(after_help = "Examples:\n  omni-dbt dbt delete --yes")]
    Delete {
        #[command(flatten)]
        connection: ConnectionArg,
        /// Delete without asking (required when standard input is not a terminal).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExposuresCommand {
    /// Every exposure of the model (all pages).
    #[command(after_help = "Examples:\n  omni-dbt exposures list --model \"$OMNI_MODEL_ID\"")]
    List {
        /// The model.
        #[arg(long)]
        model: Uuid,
        /// A model branch's exposures instead.
        #[arg(long)]
        branch_id: Option<Uuid>,
    },
}

#[derive(Subcommand, Debug)]
// Parsed once per run: the size of a variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum PreviewCommand {
    /// Create or update the branch's environment and point the model's branch at it.
    #[command(
        after_help = "Examples:\n  omni-dbt preview up --model \"$OMNI_MODEL_ID\" --branch \"$BRANCH\" --secret-var DBT_PASSWORD --refresh\n  omni-dbt preview up --model \"$OMNI_MODEL_ID\" --branch \"$BRANCH\" --create-branch --from staging"
    )]
    Up {
        #[command(flatten)]
        connection: ConnectionArg,
        #[command(flatten)]
        target: PreviewTarget,
        /// Copy a template environment (by name or id): its properties (database, dbt target
        /// name, role, …) and plain variables, for the preview's create (flags given here win).
        #[arg(long, value_name = "ENV")]
        from: Option<String>,
        /// A flag per property of the spec's environment; `--target-schema` defaults to
        /// dbt_<branch>, by the naming rule in the README.
        #[command(flatten)]
        properties: PreviewProperties,
        /// The dbt project's git branch to read (default: the environment's).
        #[arg(long)]
        dbt_git_branch: Option<String>,
        #[command(flatten)]
        variables: VariableArgs,
        /// Create the model branch when the model has none of that name (without it, a
        /// missing branch fails before anything is created).
        #[arg(long)]
        create_branch: bool,
        /// Also refresh the model's schema and wait for the job.
        #[arg(long)]
        refresh: bool,
        /// Branch-based schema refresh is on for the connection: refresh the branch (its id
        /// is looked up; --branch-id gives it instead).
        #[arg(long, requires = "refresh", conflicts_with = "branch_id")]
        refresh_branch: bool,
        /// Branch-based schema refresh is on for the connection: refresh this branch id.
        #[arg(long, requires = "refresh")]
        branch_id: Option<Uuid>,
        /// How long to wait for the refresh, in seconds (at most a day).
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        refresh_timeout: u64,
        /// In a GitHub Actions step: write the preview as step outputs (`environment-id`,
        /// `environment-name`, `target-schema`, `branch-id`, `action`) to `$GITHUB_OUTPUT`,
        /// for the steps after it (a `dbt build` into the preview's schema).
        #[arg(long)]
        github_output: bool,
    },
    /// Delete the branch's environment (nothing to do when it is gone).
    #[command(
        after_help = "Examples:\n  omni-dbt preview down --model \"$OMNI_MODEL_ID\" --branch \"$BRANCH\"\n  omni-dbt preview down --model \"$OMNI_MODEL_ID\" --branch \"$BRANCH\" --delete-branch"
    )]
    Down {
        #[command(flatten)]
        connection: ConnectionArg,
        #[command(flatten)]
        target: PreviewTarget,
        /// Also delete the model branch of exactly that name, with what was edited on it
        /// (nothing to do when it is gone).
        #[arg(long)]
        delete_branch: bool,
    },
    /// Delete the previews whose git branch is gone (a closed pull request whose `down` never
    /// ran, a deleted branch): only environments marked as a preview, never the default.
    /// Prints the plan; deletes only with --yes.
    #[command(
        after_help = "Examples:\n  git ls-remote --heads origin | omni-dbt preview gc --branches-from -\n  git ls-remote --heads origin | omni-dbt preview gc --branches-from - --yes --delete-branches-of \"$OMNI_MODEL_ID\""
    )]
    Gc(GcArgs),
}

#[derive(Args, Debug)]
pub struct GcArgs {
    #[command(flatten)]
    pub connection: ConnectionArg,
    /// The git branches that still exist, one per line: plain names, or the output of `git
    /// ls-remote --heads origin` (`refs/heads/` is taken off; other refs are ignored). `-` reads
    /// standard input.
    #[arg(long, value_name = "FILE")]
    pub branches_from: PathBuf,
    /// Delete the stale previews (without it, only the plan is printed).
    #[arg(long)]
    pub yes: bool,
    /// Accept a list of no branches (every preview is then stale). Without it an empty list is
    /// refused: a failed `git ls-remote` must not delete every preview.
    #[arg(long)]
    pub allow_empty: bool,
    /// Also delete each stale preview's model branch of that name on this model.
    #[arg(long, value_name = "MODEL")]
    pub delete_branches_of: Option<Uuid>,
}

#[derive(Args, Debug)]
pub struct PreviewTarget {
    /// The model.
    #[arg(long)]
    pub model: Uuid,
    /// The model branch (usually the pull request's git branch).
    #[arg(long)]
    pub branch: String,
}
