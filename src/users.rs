//! Omni's users, found by email through SCIM (`GET /scim/v2/Users?filter=userName eq "…"`),
//! e.g. to make a dbt environment someone's personal one (`ownerId`). SCIM takes Organization
//! API keys only.

use crate::{
    call::Call,
    client::Client,
    config::TokenKind,
    error::{Error, Result},
    generated::types::ScimUserResponse,
};

/// Longest email the lookup sends (RFC 5321's limit on a path).
const MAX_EMAIL: usize = 254;

impl Client {
    /// The organisation's users (SCIM; Organization API keys only).
    pub fn users(&self) -> Users {
        Users {
            client: self.clone(),
        }
    }
}

/// The organisation's users. Made by [`Client::users`].
#[derive(Clone, Debug)]
pub struct Users {
    client: Client,
}

impl Users {
    /// Whether `text` (trimmed) is taken as an email address by [`by_email`](Self::by_email):
    /// `name@domain`, both parts non-empty, at most 254 characters, no space or control
    /// character. The one check of an email, for every tool that asks before sending.
    ///
    /// ```
    /// use omni_dbt::Users;
    /// assert!(Users::is_email("ada@example.com"));
    /// assert!(!Users::is_email("ada") && !Users::is_email("a b@example.com"));
    /// ```
    pub fn is_email(text: &str) -> bool {
        let email = text.trim();
        email.len() <= MAX_EMAIL
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
            && !email.chars().any(|c| c.is_control() || c.is_whitespace())
    }

    /// Finds the user whose SCIM `userName` (their email) is `email`, compared without regard
    /// to case as SCIM defines for `userName`.
    ///
    /// ```no_run
    /// # async fn demo(client: omni_dbt::Client, connection: omni_dbt::Uuid) -> omni_dbt::Result<()> {
    /// let Some(ada) = client.users().by_email("ada@example.com").send().await? else {
    ///     panic!("no such user");
    /// };
    /// client
    ///     .dbt_environments(connection)
    ///     .create("ada-dev", "dbt_ada")
    ///     .owner_id(ada.id)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn by_email(&self, email: impl Into<String>) -> FindUser {
        FindUser {
            call: Call::new(&self.client),
            path: crate::generated::paths::ScimUsersList {},
            email: email.into(),
        }
    }
}

crate::call::builder! {
    /// Finds a user by email. Built by [`Users::by_email`].
    #[must_use = "nothing is sent until `send`"]
    pub struct FindUser for ScimUsersList {
        email: String,
    }
}

impl FindUser {
    /// The SCIM filter for the email: a SCIM string literal, `"` and `\` escaped, so that an
    /// email cannot widen the filter.
    fn filter(&self) -> Result<String> {
        let email = self.email.trim();
        if !Users::is_email(email) {
            return Err(Error::invalid(
                "email",
                format!(
                    "must be an email address (name@domain, at most {MAX_EMAIL} characters, no spaces)"
                ),
            ));
        }
        let mut literal = String::with_capacity(email.len() + 2);
        for c in email.chars() {
            if matches!(c, '"' | '\\') {
                literal.push('\\');
            }
            literal.push(c);
        }
        Ok(format!("userName eq \"{literal}\""))
    }

    /// Validates and sends the lookup: `None` when no user has that email. A personal access
    /// token is refused before sending (SCIM answers 401 to it); two users with the email are
    /// an error naming their ids.
    pub async fn send(self) -> Result<Option<ScimUserResponse>> {
        let filter = self.filter()?;
        if self.call.client.token_kind() == TokenKind::PersonalAccessToken {
            return Err(Error::invalid(
                "token",
                "finding users by email needs an Organization API key (Omni's SCIM API does not take personal access tokens)",
            ));
        }
        let list = crate::call::send!(self.call, self.path, |request| request
            .filter(filter)
            .send())?
        .into_inner();
        let email = self.email.trim();
        let mut found: Vec<ScimUserResponse> = list
            .resources
            .into_iter()
            .filter(|u| u.user_name.eq_ignore_ascii_case(email))
            .collect();
        match found.len() {
            0 | 1 => Ok(found.pop()),
            n => {
                let ids: Vec<String> = found.iter().map(|u| u.id.to_string()).collect();
                Err(Error::UnexpectedResponse {
                    status: 200,
                    detail: Some(format!(
                        "{n} users have the email {email:?} ({})",
                        ids.join(", ")
                    )),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(email: &str) -> Result<String> {
        let client = Client::builder()
            .with_token(crate::Token::organization_api_key("omni_osk_test"))
            .with_base_url("http://127.0.0.1:9/api")
            .build()
            .unwrap();
        client.users().by_email(email).filter()
    }

    #[test]
    fn the_filter_is_one_escaped_literal() {
        assert_eq!(
            filter(" ada@example.com ").unwrap(),
            r#"userName eq "ada@example.com""#
        );
        assert_eq!(
            filter(r#"a"or"1@x\y"#).unwrap(),
            r#"userName eq "a\"or\"1@x\\y""#
        );
        for bad in [
            "",
            "ada",
            "@x",
            "a@",
            "a b@x",
            "a@\nx",
            &format!("{}@x", "a".repeat(300)),
        ] {
            let e = filter(bad).unwrap_err().to_string();
            assert!(e.contains("`email`"), "{bad:?}: {e}");
        }
    }
}
