//! No public type prints a token or a secret variable's value, with `{:?}`, `{:#?}` or `{}`.

use crate::common::*;
use omni_dbt::{Client, NewVariable, Token, TokenKind, VariableChange, VariableUpdate};

const SECRET_VALUE: &str = "s3cret-variable-value-DO_NOT_PRINT";

fn assert_clean(what: &str, text: &str) {
    for secret in [ORG_KEY, PAT, SECRET_VALUE, "DO_NOT_PRINT"] {
        assert!(!text.contains(secret), "{what} printed a secret: {text}");
    }
}

macro_rules! debug_clean {
    ($($value:expr),+ $(,)?) => {$(
        assert_clean(stringify!($value), &format!("{:?}", $value));
        assert_clean(stringify!($value), &format!("{:#?}", $value));
    )+};
}

macro_rules! display_clean {
    ($($value:expr),+ $(,)?) => {$(
        assert_clean(stringify!($value), &format!("{}", $value));
    )+};
}

#[test]
fn tokens_clients_builders_and_secret_variables_never_print_secrets() {
    let org = Token::organization_api_key(ORG_KEY);
    let pat = Token::personal_access_token(PAT);
    let unknown = Token::new(ORG_KEY, TokenKind::Unknown);
    debug_clean!(org, pat, unknown);
    display_clean!(org, pat, unknown);

    let builder = Client::builder()
        .with_token(org.clone())
        .with_instance("acme");
    debug_clean!(builder);
    let client = builder.build().unwrap();
    debug_clean!(client);
    // What it does print is what a reader needs: e.g. the pace it keeps.
    let paced = Client::builder()
        .with_token(org.clone())
        .with_instance("acme")
        .with_rate_limit(omni_dbt::RateLimit::per_minute(1200).with_burst(3))
        .build()
        .unwrap();
    assert!(
        format!("{paced:?}").contains("RateLimit { per_minute: 1200, burst: 3 }"),
        "{paced:?}"
    );

    let secret_new = NewVariable::secret("DBT_PASSWORD", SECRET_VALUE);
    let secret_set = VariableUpdate::secret(id(VAR_SECRET), SECRET_VALUE);
    let keep = VariableUpdate::keep_secret(id(VAR_SECRET));
    debug_clean!(secret_new, secret_set, keep);
    display_clean!(secret_new, secret_set, keep);
    debug_clean!(
        VariableChange::from(secret_new.clone()),
        VariableChange::from(secret_set.clone())
    );

    let envs = client.dbt_environments(id(CONN));
    debug_clean!(envs);
    debug_clean!(
        envs.update(id(ENV))
            .add_secret_variable("A", SECRET_VALUE)
            .set_secret_variable(id(VAR_SECRET), SECRET_VALUE),
        envs.create("n", "s").add_secret_variable("A", SECRET_VALUE),
        envs.list(),
        envs.delete(id(ENV)),
    );
}

#[test]
fn plain_values_are_shown_so_redaction_is_not_blanket() {
    let plain = NewVariable::plain("DBT_TARGET", "ci-value");
    assert!(format!("{plain:?}").contains("ci-value"));
    assert_eq!(plain.to_string(), "DBT_TARGET=ci-value");
    assert!(format!("{:?}", VariableUpdate::plain(id(VAR_PLAIN), "v2")).contains("v2"));
}

#[test]
fn errors_never_carry_the_token() {
    let errors = [
        Client::builder()
            .with_token(Token::organization_api_key(format!("{ORG_KEY}\n")))
            .with_base_url("https://evil.example")
            .build()
            .unwrap_err(),
        Client::builder()
            .with_token(Token::organization_api_key(format!("bad\u{7f}{ORG_KEY}")))
            .with_instance("acme")
            .build()
            .unwrap_err(),
    ];
    for err in &errors {
        debug_clean!(err);
        display_clean!(err);
    }
}
