//! A model's branches: find one by name (`GET /v1/models`), create one (`POST /v1/models`,
//! `modelKind: BRANCH`), delete one (`DELETE /v1/models/{modelId}/branch/{branchName}`).
//!
//! In Omni a branch is itself a model, of kind `BRANCH`, whose base is the shared model; its
//! id is the `branch_id` of a branch-based schema refresh and of the exposures list.

use uuid::Uuid;

use crate::{
    call::Call,
    client::confirmed,
    error::{Error, Result},
    generated::paths,
    generated::types::{
        self, CreateModelSchemaBase, CreateModelSchemaBaseModelKind, ModelsCreateResponseModel,
        ModelsListResponseRecordsItem, SuccessResponse,
    },
    models::ModelBranch,
    validate::nonnil,
};

/// Most pages a lookup reads (100 records each) before it gives up: a name is unique among a
/// model's branches, so a server that keeps answering pages is misbehaving.
const MAX_PAGES: usize = 100;
/// Records per page of a lookup.
const PAGE: std::num::NonZeroU64 = std::num::NonZeroU64::new(100).expect("100 is not zero");

impl ModelBranch {
    /// Finds the branch by its exact name among the model's branches (`None` when the model
    /// has no branch of that name). The record is the spec's, so whatever Omni adds to it is
    /// there.
    pub fn find(&self) -> FindBranch {
        FindBranch {
            call: Call::new(&self.client),
            path: paths::ModelsList {},
            model_id: self.model_id,
            name: self.name.clone(),
        }
    }

    /// Creates the branch on the model (`POST /v1/models` with `modelKind: BRANCH`).
    ///
    /// ```no_run
    /// # async fn demo(client: omni_dbt::Client, model: omni_dbt::Uuid, connection: omni_dbt::Uuid) -> omni_dbt::Result<()> {
    /// let branch = client.model(model).branch("feature/pr-42");
    /// let id = match branch.find().send().await? {
    ///     Some(found) => found.id,
    ///     None => branch.create().connection_id(connection).send().await?.id.to_string(),
    /// };
    /// # let _ = id; Ok(()) }
    /// ```
    pub fn create(&self) -> CreateBranch {
        CreateBranch {
            call: Call::new(&self.client),
            path: paths::ModelsCreate {},
            model_id: self.model_id,
            name: self.name.clone(),
            connection_id: None,
        }
    }

    /// Deletes the branch (and what was edited on it). Omni's 404 for a missing branch is
    /// [`Error::NotFound`].
    pub fn delete(&self) -> DeleteBranch {
        DeleteBranch {
            call: Call::new(&self.client),
            path: paths::ModelsDeleteBranch {
                model_id: self.model_id,
                branch_name: self.name.clone(),
            },
        }
    }
}

/// The names a branch can have here: those its delete's path can carry (the spec's
/// `branchName`, checked as every path parameter that is not a UUID).
pub(crate) fn check_name(name: &str) -> Result<()> {
    crate::validate::path_text("branchName", name)
}

crate::call::builder! {
    /// Finds a branch by name. Built by [`ModelBranch::find`].
    #[must_use = "nothing is sent until `send`"]
    pub struct FindBranch for ModelsList {
        model_id: Uuid,
        name: String,
    }
}

impl FindBranch {
    /// Lists the model's branches of that name (every page) and keeps the exact match: Omni's
    /// `name` filter is not documented as exact. Two branches of one name are an error naming
    /// their ids.
    pub async fn send(self) -> Result<Option<ModelsListResponseRecordsItem>> {
        nonnil("modelId", self.model_id)?;
        check_name(&self.name)?;
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = crate::call::send!(self.call, self.path, |request| {
                let mut request = request
                    .base_model_id(self.model_id)
                    .model_kind(types::ModelsListModelKind::Branch)
                    .name(self.name.clone())
                    .page_size(PAGE);
                if let Some(at) = cursor.clone() {
                    request = request.cursor(at);
                }
                request.send()
            })?
            .into_inner();
            let base = self.model_id.to_string();
            found.extend(page.records.into_iter().filter(|r| {
                r.name.as_deref() == Some(self.name.as_str())
                    && r.deleted_at.is_none()
                    && r.base_model_id.as_deref().is_none_or(|b| b == base)
            }));
            match page.page_info.next_cursor {
                Some(next) if page.page_info.has_next_page && Some(&next) != cursor.as_ref() => {
                    cursor = Some(next);
                }
                _ => {
                    return match found.len() {
                        0 | 1 => Ok(found.pop()),
                        n => {
                            let ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
                            Err(Error::UnexpectedResponse {
                                status: 200,
                                detail: Some(format!(
                                    "{n} branches of the model are named {:?} ({})",
                                    self.name,
                                    ids.join(", ")
                                )),
                            })
                        }
                    };
                }
            }
        }
        Err(Error::UnexpectedResponse {
            status: 200,
            detail: Some(format!(
                "the list of the model's branches did not end after {MAX_PAGES} pages"
            )),
        })
    }
}

crate::call::builder! {
    /// Creates a branch. Built by [`ModelBranch::create`].
    #[must_use = "nothing is sent until `send`"]
    pub struct CreateBranch for ModelsCreate {
        model_id: Uuid,
        name: String,
        connection_id: Option<Uuid>,
    }
}

impl CreateBranch {
    /// The model's connection (Omni's create needs it); without it, `send` looks it up with
    /// one more request.
    pub fn connection_id(mut self, connection_id: Uuid) -> Self {
        self.connection_id = Some(connection_id);
        self
    }

    /// Validates and sends the create; returns the new branch (`id` is its `branch_id`).
    ///
    /// A create whose answer is lost (or that meets 502/503/504) may have made the branch: the
    /// branch is then looked up by name, adopted when found, created again when not (at most
    /// three rounds), so that it is made exactly once. Omni's `success: false` (e.g. the name
    /// exists) is [`Error::UnexpectedResponse`] with Omni's `error`.
    pub async fn send(self) -> Result<ModelsCreateResponseModel> {
        nonnil("modelId", self.model_id)?;
        check_name(&self.name)?;
        if let Some(connection) = self.connection_id {
            nonnil("connectionId", connection)?;
        }
        let connection = match self.connection_id {
            Some(c) => c,
            None => self.connection_of_model().await?,
        };
        let body = CreateModelSchemaBase {
            access_grants: Vec::new(),
            allow_as_workbook_base: None,
            base_model_id: Some(self.model_id.to_string()),
            connection_id: connection.to_string(),
            model_kind: Some(CreateModelSchemaBaseModelKind::Branch),
            model_name: Some(self.name.clone()),
            uses_isolated_branches: None,
        };
        let made = crate::adopt::create_once(
            || {
                let sent = body.clone();
                async {
                    crate::call::send!(self.call, self.path, |request| request.body(sent).send())
                }
            },
            || {
                FindBranch {
                    call: self.call.clone(),
                    path: paths::ModelsList {},
                    model_id: self.model_id,
                    name: self.name.clone(),
                }
                .send()
            },
        )
        .await?;
        let value = match made {
            crate::adopt::Made::Found(found) => return adopted(found),
            crate::adopt::Made::Created(value) => value,
        };
        let status = value.status().as_u16();
        let answer = value.into_inner();
        confirmed(
            answer.success,
            status,
            answer.error.as_deref().or(answer.message.as_deref()),
        )?;
        answer.model.ok_or_else(|| Error::UnexpectedResponse {
            status,
            detail: Some("Omni answered success without the created model".into()),
        })
    }

    /// The model's connection, from `GET /v1/models?modelId=…`.
    async fn connection_of_model(&self) -> Result<Uuid> {
        let model = self.model_id;
        let list = crate::call::send!(self.call, paths::ModelsList {}, |request| request
            .model_id(model)
            .send())?
        .into_inner();
        let wanted = model.to_string();
        let record = list
            .records
            .into_iter()
            .find(|r| r.id == wanted)
            .ok_or_else(|| Error::NotFound {
                resource: Some(format!("model {model}")),
                detail: None,
            })?;
        record
            .connection_id
            .as_deref()
            .and_then(|c| Uuid::parse_str(c).ok())
            .ok_or_else(|| Error::UnexpectedResponse {
                status: 200,
                detail: Some(format!("model {model} has no connection id")),
            })
    }
}

/// A found branch as the create would have answered it.
fn adopted(found: ModelsListResponseRecordsItem) -> Result<ModelsCreateResponseModel> {
    let id = Uuid::parse_str(&found.id).map_err(|_| Error::UnexpectedResponse {
        status: 200,
        detail: Some("the found branch's id is not a UUID".into()),
    })?;
    Ok(ModelsCreateResponseModel {
        id,
        model_kind: found.model_kind.unwrap_or_else(|| "BRANCH".into()),
        name: found.name,
    })
}

crate::call::builder! {
    /// Deletes a branch. Built by [`ModelBranch::delete`].
    #[must_use = "nothing is sent until `send`"]
    pub struct DeleteBranch for ModelsDeleteBranch {}
}

impl DeleteBranch {
    /// Sends the delete. A 404 counts as deleted only when an earlier attempt of this call may
    /// have reached Omni (it timed out, lost its connection, or met 502/503/504); otherwise it
    /// is [`Error::NotFound`]. `success: false` is [`Error::UnexpectedResponse`].
    pub async fn send(self) -> Result<SuccessResponse> {
        let (result, record) =
            crate::call::send_recorded!(self.call, self.path, |request| request.send());
        let value = match result {
            Err(Error::NotFound { .. }) if record.maybe_processed => {
                return Ok(SuccessResponse { success: true });
            }
            other => other?,
        };
        let status = value.status().as_u16();
        let answer = value.into_inner();
        confirmed(answer.success, status, None)?;
        Ok(answer)
    }
}
