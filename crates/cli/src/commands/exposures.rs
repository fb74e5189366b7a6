//! `omni-dbt exposures`: a model's dbt exposures.

use crate::{cli::ExposuresCommand, context::Context, failure::Failure, output::emit};

pub async fn run(ctx: &Context, command: ExposuresCommand) -> Result<(), Failure> {
    let ExposuresCommand::List { model, branch_id } = command;
    let mut list = ctx.client()?.model(model).dbt_exposures();
    if let Some(branch) = branch_id {
        list = list.branch_id(branch);
    }
    let all = list.all().await?;
    emit(ctx.output, &all, || {
        let mut rows = vec![vec![
            "NAME".into(),
            "TYPE".into(),
            "OWNER".into(),
            "DEPENDS ON".into(),
        ]];
        for e in &all {
            rows.push(vec![
                e.deduplication_name.clone(),
                e.exposure.type_.to_string(),
                e.exposure.owner.email.clone(),
                e.exposure.depends_on.join(", "),
            ]);
        }
        rows
    })?;
    Ok(())
}
