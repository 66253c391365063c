//! Accounts and bearer tokens. A token is 256 random bits (hex, prefixed `wt_`); only its
//! SHA-256 is stored, so a copy of the database does not hand out working tokens.

use sha2::{Digest, Sha256};
use workflow_templates::model::id::{random_bits, IdGenerator};
use workflow_templates::model::time::format_ms;

use crate::db::{text, Conn, DbResult};

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn new_token() -> String {
    let mut s = String::from("wt_");
    for _ in 0..2 {
        s.push_str(&format!("{:032x}", random_bits()));
    }
    s
}

/// Creates a user (ULID id) with one token; returns `(user_id, token)`.
pub fn create_user(c: &mut Conn, name: &str) -> DbResult<(String, String)> {
    let id = IdGenerator::new().next(now_ms().max(0) as u64, random_bits());
    let token = new_token();
    c.transaction(|c| -> DbResult<()> {
        c.execute("INSERT INTO users (id, name, created_at) VALUES ({t1}, {t2}, {ts3})", &[text(&id), text(name), text(format_ms(now_ms()))])?;
        add_token_in(c, &id, &token, "created with the user")?;
        Ok(())
    })?;
    Ok((id, token))
}

/// A new token for an existing user.
pub fn create_token(c: &mut Conn, user_id: &str, label: &str) -> DbResult<Option<String>> {
    let token = new_token();
    let ok = c.transaction(|c| -> DbResult<bool> {
        if c.query("SELECT id FROM users WHERE id = {t1}", &[text(user_id)])?.is_empty() {
            return Ok(false);
        }
        add_token_in(c, user_id, &token, label)?;
        Ok(true)
    })?;
    Ok(ok.then_some(token))
}

fn add_token_in(c: &mut Conn, user_id: &str, token: &str, label: &str) -> DbResult<()> {
    c.execute(
        "INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES ({t1}, {t2}, {t3}, {ts4})",
        &[text(sha256_hex(token.as_bytes())), text(user_id), text(label), text(format_ms(now_ms()))],
    )?;
    Ok(())
}

/// The user a token belongs to.
pub fn user_for_token(c: &mut Conn, token: &str) -> DbResult<Option<String>> {
    let rows = c.query("SELECT user_id FROM api_tokens WHERE token_hash = {t1}", &[text(sha256_hex(token.as_bytes()))])?;
    Ok(rows.first().and_then(|r| r[0].text().map(str::to_string)))
}
