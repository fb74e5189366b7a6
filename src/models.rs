//! Models: a model's dbt exposures (`GET /v1/models/{modelId}/dbt-exposures`) and the dbt
//! environment a model branch reads from (`POST /v1/models/{modelId}/branch/{branchName}/dbt`).
//! Finding, creating and deleting branches is in `branches.rs`.

use futures_util::{Stream, TryStreamExt};
use uuid::Uuid;

use crate::{
    call::Call,
    client::{Client, confirmed},
    data::{Page, SortDirection, WirePageInfo},
    error::{Error, Result},
    generated::{
        paths,
        types::{self, DbtExposureWithMeta, ModelsBranchDbtBody, SuccessResponse},
    },
    paging::{self, PagedRequest},
    validate::nonnil,
};

impl Client {
    /// One model: its dbt exposures and its branches' dbt environments.
    pub fn model(&self, model_id: Uuid) -> Model {
        Model::new(self.clone(), model_id)
    }
}

/// One Omni model. Made by [`Client::model`].
///
/// ```no_run
/// # async fn demo(client: omni_dbt::Client, model: omni_dbt::Uuid, env: omni_dbt::Uuid) -> omni_dbt::Result<()> {
/// use futures_util::TryStreamExt;
///
/// let model = client.model(model);
/// model.branch("pr-42").use_dbt_environment(env).send().await?;
/// let exposures: Vec<_> = model.dbt_exposures().page_size(50).stream().try_collect().await?;
/// for e in exposures {
///     println!("{} ({:?})", e.exposure.name, e.exposure.type_);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Model {
    client: Client,
    model_id: Uuid,
}

impl Model {
    pub(crate) fn new(client: Client, model_id: Uuid) -> Self {
        Self { client, model_id }
    }

    /// The model's id.
    pub fn model_id(&self) -> Uuid {
        self.model_id
    }

    /// List the dbt exposures of the model's documents (cursor-paged).
    pub fn dbt_exposures(&self) -> ListExposures {
        ListExposures {
            call: Call::new(&self.client),
            path: paths::ModelsDbtExposures {
                model_id: self.model_id,
            },
            branch_id: None,
            cursor: None,
            page_size: None,
            sort: None,
            sort_field: None,
        }
    }

    /// One branch of the model, by name.
    pub fn branch(&self, name: impl Into<String>) -> ModelBranch {
        ModelBranch {
            client: self.client.clone(),
            model_id: self.model_id,
            name: name.into(),
        }
    }
}

crate::call::builder! {
    /// Lists a model's dbt exposures: one page with [`send`](Self::send), every page with
    /// [`stream`](Self::stream) or [`all`](Self::all). Built by [`Model::dbt_exposures`].
    #[must_use = "nothing is sent until `send`, `stream` or `all`"]
    pub struct ListExposures for ModelsDbtExposures {
        branch_id: Option<Uuid>,
        cursor: Option<String>,
        page_size: Option<u32>,
        sort: Option<SortDirection>,
        sort_field: Option<String>,
    }
}

impl ListExposures {
    /// The exposures of this model branch instead of the shared model.
    pub fn branch_id(mut self, branch_id: Uuid) -> Self {
        self.branch_id = Some(branch_id);
        self
    }

    /// Records per page, 1 to 100 (Omni's default is 20).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Sort direction.
    pub fn sort(mut self, direction: SortDirection) -> Self {
        self.sort = Some(direction);
        self
    }

    /// Field to sort by (Omni's spec leaves it open).
    pub fn sort_field(mut self, field: impl Into<String>) -> Self {
        self.sort_field = Some(field.into());
        self
    }

    /// Start at this cursor (a previous page's [`Page::next_cursor`]).
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<Page<DbtExposureWithMeta>> {
        if let Some(branch) = self.branch_id {
            nonnil("branch_id", branch)?;
        }
        paging::check_page_size(self.page_size, types::MODELS_DBT_EXPOSURES_MAX_PAGE_SIZE)?;
        let Self {
            call,
            path,
            branch_id,
            cursor,
            page_size,
            sort,
            sort_field,
        } = self;
        let list = crate::call::send!(call, path, |request| {
            let mut request = request;
            if let Some(branch) = branch_id {
                request = request.branch_id(branch);
            }
            if let Some(cursor) = cursor {
                request = request.cursor(cursor);
            }
            if let Some(size) = page_size {
                request = request.page_size(u64::from(size));
            }
            if let Some(direction) = sort {
                request =
                    request.sort_direction(types::ModelsDbtExposuresSortDirection::from(direction));
            }
            if let Some(field) = sort_field {
                request = request.sort_field(field);
            }
            request.send()
        })?
        .into_inner();
        Ok(Page::new(
            list.records,
            WirePageInfo::from_generated(&list.page_info),
        ))
    }

    /// Every exposure on every page, following `nextCursor`, fetched as the stream is read.
    /// Pages of 100 (the largest Omni serves) unless [`page_size`](Self::page_size) says otherwise.
    pub fn stream(self) -> impl Stream<Item = Result<DbtExposureWithMeta>> + Send + 'static {
        paging::every_record(self)
    }

    /// Every exposure on every page, collected.
    pub async fn all(self) -> Result<Vec<DbtExposureWithMeta>> {
        self.stream().try_collect().await
    }
}

impl PagedRequest for ListExposures {
    type Item = DbtExposureWithMeta;

    fn fetch(self) -> impl Future<Output = Result<Page<DbtExposureWithMeta>>> + Send {
        self.send()
    }

    fn at(self, cursor: String) -> Self {
        self.cursor(cursor)
    }

    fn largest_pages(mut self) -> Self {
        if self.page_size.is_none() {
            self.page_size = types::MODELS_DBT_EXPOSURES_MAX_PAGE_SIZE;
        }
        self
    }
}

/// One branch of a model. Made by [`Model::branch`].
#[derive(Clone, Debug)]
pub struct ModelBranch {
    pub(crate) client: Client,
    pub(crate) model_id: Uuid,
    pub(crate) name: String,
}

impl ModelBranch {
    /// The branch's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Point the branch at a dbt environment of the model's connection, so that its schema
    /// refreshes read from it (`POST .../branch/{branchName}/dbt`). Setting the same
    /// environment again changes nothing, so the request is retried like an idempotent one.
    pub fn use_dbt_environment(&self, environment_id: Uuid) -> UseDbtEnvironment {
        UseDbtEnvironment {
            // Retried like an idempotent request: see `retry::request_is_repeatable`.
            call: Call::new(&self.client),
            path: paths::ModelsBranchDbt {
                model_id: self.model_id,
                branch_name: self.name.clone(),
            },
            environment_id,
            dbt_git_branch: None,
        }
    }
}

crate::call::builder! {
    /// Points a model branch at a dbt environment. Built by
    /// [`ModelBranch::use_dbt_environment`].
    #[must_use = "nothing is sent until `send`"]
    pub struct UseDbtEnvironment for ModelsBranchDbt {
        environment_id: Uuid,
        dbt_git_branch: Option<String>,
    }
}

impl UseDbtEnvironment {
    /// Read the dbt project from this git branch (when it differs from the environment's).
    pub fn dbt_git_branch(mut self, branch: impl Into<String>) -> Self {
        self.dbt_git_branch = Some(branch.into());
        self
    }

    fn body(&self) -> Result<ModelsBranchDbtBody> {
        self.path.check()?;
        nonnil("dbt_environment_id", self.environment_id)?;
        if self.dbt_git_branch.as_deref().is_some_and(str::is_empty) {
            return Err(Error::invalid(
                "dbt_git_branch",
                "must not be empty; leave it out to use the environment's branch",
            ));
        }
        Ok(ModelsBranchDbtBody {
            dbt_environment_id: self.environment_id,
            dbt_git_branch: self.dbt_git_branch.clone(),
        })
    }

    /// Validates and sends the request. `success: false` is [`Error::UnexpectedResponse`].
    pub async fn send(self) -> Result<SuccessResponse> {
        let body = self.body()?;
        let value = crate::call::send!(self.call, self.path, |request| request.body(body).send())?;
        let status = value.status().as_u16();
        let answer = value.into_inner();
        confirmed(answer.success, status, None)?;
        Ok(answer)
    }
}
