//! `omni-dbt dbt`: the connection's dbt configuration.

use omni_dbt::api::types::ConnectionsDbtGetResponse;

use crate::{
    cli::DbtCommand,
    context::Context,
    failure::Failure,
    output::{emit, say, shown},
    rules::connection,
};

pub async fn run(ctx: &Context, command: DbtCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        DbtCommand::Show(c) => {
            let answer = client.dbt(connection(&c)?).config().send().await?;
            emit(ctx.output, &answer, || match &answer {
                ConnectionsDbtGetResponse::ConfiguredResponse {
                    ssh_url,
                    branch,
                    dbt_version,
                    project_root_path,
                    autogen_relationships,
                    enable_virtual_schemas,
                    enable_semantic_layer,
                    ..
                } => vec![
                    vec!["SETTING".into(), "VALUE".into()],
                    vec!["sshUrl".into(), ssh_url.clone()],
                    vec!["branch".into(), branch.clone()],
                    vec!["dbtVersion".into(), dbt_version.clone()],
                    vec![
                        "projectRootPath".into(),
                        project_root_path.clone().unwrap_or_default(),
                    ],
                    vec![
                        "autogenRelationships".into(),
                        autogen_relationships.to_string(),
                    ],
                    vec![
                        "enableVirtualSchemas".into(),
                        enable_virtual_schemas.to_string(),
                    ],
                    vec![
                        "enableSemanticLayer".into(),
                        enable_semantic_layer.to_string(),
                    ],
                ],
                ConnectionsDbtGetResponse::NotConfiguredResponse {
                    message,
                    supports_dbt,
                } => vec![
                    vec!["SETTING".into(), "VALUE".into()],
                    vec!["message".into(), message.clone()],
                    vec!["supportsDbt".into(), supports_dbt.to_string()],
                ],
            });
        }
        DbtCommand::Set {
            connection: c,
            ssh_url,
            branch,
            autogen_relationships,
            virtual_schemas,
            dbt_version,
            semantic_layer,
            rotate_keys,
            project_root,
        } => {
            let mut set = client
                .dbt(connection(&c)?)
                .update_config(ssh_url, branch)
                .autogen_relationships(autogen_relationships)
                .enable_virtual_schemas(virtual_schemas)
                .enable_semantic_layer(semantic_layer)
                .rotate_keys(rotate_keys);
            if let Some(v) = dbt_version {
                set = set.dbt_version(v);
            }
            if let Some(v) = project_root {
                set = set.project_root_path(v);
            }
            let answer = set.send().await?;
            say(&shown(&answer.message));
            emit(ctx.output, &answer, || vec![vec![answer.message.clone()]]);
        }
        DbtCommand::Delete(c) => {
            let answer = client.dbt(connection(&c)?).delete_config().send().await?;
            say(&shown(&answer.message));
            emit(ctx.output, &answer, || vec![vec![answer.message.clone()]]);
        }
    }
    Ok(())
}
