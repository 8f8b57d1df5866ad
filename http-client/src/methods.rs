//! The client's request constructors: one per common method, and any
//! method by name ([`Client::request`]); the request is built in
//! `request.rs`.

use crate::client::Client;
use crate::request::RequestBuilder;

/// Requests are made by the client and built here.
impl Client {
    /// A request with any method (checked when sent).
    pub fn request<'c>(&'c self, method: &str, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, method, url)
    }

    /// A GET request.
    pub fn get<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "GET", url)
    }

    /// A HEAD request.
    pub fn head<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "HEAD", url)
    }

    /// A POST request.
    pub fn post<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "POST", url)
    }

    /// A PUT request.
    pub fn put<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "PUT", url)
    }

    /// A DELETE request.
    pub fn delete<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "DELETE", url)
    }

    /// A PATCH request.
    pub fn patch<'c>(&'c self, url: &str) -> RequestBuilder<'c> {
        RequestBuilder::new(self, "PATCH", url)
    }
}
