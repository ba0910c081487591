//! Helpers for driving the JSON API: accounts with tokens and JSON requests.

use reqwest::Method;
use serde_json::Value;

use super::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";

/// A caller of the API: an account and its current tokens.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub user_id: i64,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

/// What an API request answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Asserts a problem document with `status` and type `/api/problems/{kind}`.
    pub fn assert_problem(&self, status: u16, kind: &str) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{:?}",
            self.body
        );
        assert_eq!(
            self.body["type"],
            format!("/api/problems/{kind}"),
            "{:?}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string());
    }

    /// The fields a validation problem names.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    /// Sends a request to the API; `body` as JSON when given; `token` as bearer.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        answer(request.send().await.expect("API request")).await
    }

    pub async fn api_get(&self, path: &str, token: Option<&str>) -> Answer {
        self.api(Method::GET, path, token, None).await
    }

    /// Trades an email and password for tokens; the raw answer.
    pub async fn token_for(&self, email: &str, password: &str) -> Answer {
        let body = serde_json::json!({ "email": email, "password": password });
        self.api(Method::POST, "/api/v1/auth/token", None, Some(&body))
            .await
    }

    /// A new verified account with `role` and a fresh pair of tokens.
    pub async fn api_account(&self, email: &str, role: &str) -> ApiCaller {
        let hash = securecart::security::password::hash(PASSWORD, 1_000);
        let user_id =
            securecart::accounts::store::insert_user(&self.db, email, email, &hash, role, true)
                .await
                .expect("inserting a user")
                .expect("a new user");
        let answer = self.token_for(email, PASSWORD).await;
        assert_eq!(answer.status, 200, "token for {email}: {:?}", answer.body);
        ApiCaller {
            user_id,
            email: email.to_owned(),
            access: answer.body["access_token"]
                .as_str()
                .expect("access token")
                .to_owned(),
            refresh: answer.body["refresh_token"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
        }
    }

    pub async fn api_customer(&self, email: &str) -> ApiCaller {
        self.api_account(email, "customer").await
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.expect("API body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}
