//! The API-M tables `db` touches: WSO2's column names, types, keys and indexes per schema
//! generation, as data. `db init` renders them as DDL; `db audit`/`clean` check a real database
//! against the columns each cleanup reads.
//!
//! Sources: the API-M `dbscripts/apimgt/{mysql,postgresql}.sql` of 2.6.0, 3.2.0 and 4.2.0 and the
//! carbon-kernel `dbscripts` for REG_LOG (see the knowledge file `wso2-config.md` §5). SQLite has
//! no WSO2 script: it takes MySQL's types.

use super::dialect::Engine;
use std::fmt;

/// A schema generation: the shape of these tables in one API-M release line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generation {
    /// API-M 2.6.0: token hashes, no IdP id, no session side tables in the API-M script.
    V2_6,
    /// API-M 3.2.0: IDP_ID and TOKEN_BINDING_REF, session side tables.
    V3_2,
    /// API-M 4.2.0: CONSENTED_TOKEN, an ID key on the token audit table, newer session indexes.
    V4_2,
}

impl Generation {
    pub const ALL: [Generation; 3] = [Generation::V2_6, Generation::V3_2, Generation::V4_2];

    pub fn parse(s: &str) -> Option<Generation> {
        match s.trim() {
            "2.6" | "2.6.0" => Some(Generation::V2_6),
            "3.2" | "3.2.0" => Some(Generation::V3_2),
            "4.2" | "4.2.0" => Some(Generation::V4_2),
            _ => None,
        }
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Generation::V2_6 => "2.6",
            Generation::V3_2 => "3.2",
            Generation::V4_2 => "4.2",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Varchar(u32),
    Int,
    BigInt,
    /// MySQL `TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP`; PostgreSQL a plain `TIMESTAMP`.
    CreatedAt,
    /// A nullable `TIMESTAMP`.
    TimestampNull,
    Blob,
    /// An auto-increment integer key (MySQL AUTO_INCREMENT, PostgreSQL SERIAL, SQLite rowid).
    AutoId,
}

#[derive(Clone, Debug)]
pub struct Column {
    pub name: &'static str,
    pub ty: Type,
    pub not_null: bool,
    /// A literal default, as written in WSO2's scripts.
    pub default: Option<&'static str>,
}

#[derive(Clone, Debug)]
pub struct Index {
    pub name: &'static str,
    pub columns: Vec<&'static str>,
    pub unique: bool,
}

#[derive(Clone, Debug)]
pub struct ForeignKey {
    pub columns: &'static str,
    pub parent: &'static str,
    pub parent_columns: &'static str,
}

#[derive(Clone, Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: Vec<Column>,
    pub primary_key: Vec<&'static str>,
    pub foreign_keys: Vec<ForeignKey>,
    pub indexes: Vec<Index>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

fn c(name: &'static str, ty: Type) -> Column {
    Column {
        name,
        ty,
        not_null: false,
        default: None,
    }
}

fn nn(mut col: Column) -> Column {
    col.not_null = true;
    col
}

fn def(mut col: Column, d: &'static str) -> Column {
    col.default = Some(d);
    col
}

fn idx(name: &'static str, columns: &[&'static str]) -> Index {
    Index {
        name,
        columns: columns.to_vec(),
        unique: false,
    }
}

pub const CONSUMER_APPS: &str = "IDN_OAUTH_CONSUMER_APPS";
pub const TOKEN: &str = "IDN_OAUTH2_ACCESS_TOKEN";
pub const TOKEN_SCOPE: &str = "IDN_OAUTH2_ACCESS_TOKEN_SCOPE";
pub const TOKEN_AUDIT: &str = "IDN_OAUTH2_ACCESS_TOKEN_AUDIT";
pub const CODE: &str = "IDN_OAUTH2_AUTHORIZATION_CODE";
pub const CODE_SCOPE: &str = "IDN_OAUTH2_AUTHZ_CODE_SCOPE";
pub const SESSION: &str = "IDN_AUTH_SESSION_STORE";
pub const SESSION_USER: &str = "IDN_AUTH_USER_SESSION_MAPPING";
pub const SESSION_APP: &str = "IDN_AUTH_SESSION_APP_INFO";
pub const SESSION_META: &str = "IDN_AUTH_SESSION_META_DATA";
pub const SESSION_FED: &str = "IDN_FED_AUTH_SESSION_MAPPING";
pub const REG_LOG: &str = "REG_LOG";

/// The session side tables: rows keyed by SESSION_ID that go with their session.
pub const SESSION_SIDE_TABLES: [&str; 4] = [SESSION_USER, SESSION_APP, SESSION_META, SESSION_FED];

/// The token columns shared by IDN_OAUTH2_ACCESS_TOKEN and its _AUDIT copy.
fn token_columns(g: Generation, audit: bool) -> Vec<Column> {
    use Type::*;
    let created = if audit { TimestampNull } else { CreatedAt };
    let mut cols = vec![
        c("TOKEN_ID", Varchar(255)),
        c("ACCESS_TOKEN", Varchar(2048)),
        c("REFRESH_TOKEN", Varchar(2048)),
        c("CONSUMER_KEY_ID", Int),
        c("AUTHZ_USER", Varchar(100)),
        c("TENANT_ID", Int),
        c("USER_DOMAIN", Varchar(50)),
        c("USER_TYPE", Varchar(25)),
        c("GRANT_TYPE", Varchar(50)),
        c("TIME_CREATED", created),
        c("REFRESH_TOKEN_TIME_CREATED", created),
        c("VALIDITY_PERIOD", BigInt),
        c("REFRESH_TOKEN_VALIDITY_PERIOD", BigInt),
        c("TOKEN_SCOPE_HASH", Varchar(32)),
    ];
    if audit {
        cols.push(c("TOKEN_STATE", Varchar(25)));
        cols.push(c("TOKEN_STATE_ID", Varchar(128)));
    } else {
        cols.push(def(c("TOKEN_STATE", Varchar(25)), "'ACTIVE'"));
        cols.push(def(c("TOKEN_STATE_ID", Varchar(128)), "'NONE'"));
    }
    cols.push(c("SUBJECT_IDENTIFIER", Varchar(255)));
    cols.push(c("ACCESS_TOKEN_HASH", Varchar(512)));
    cols.push(c("REFRESH_TOKEN_HASH", Varchar(512)));
    if audit {
        cols.push(c("INVALIDATED_TIME", TimestampNull));
    }
    if g >= Generation::V3_2 {
        cols.push(nn(def(c("IDP_ID", Int), "-1")));
    }
    if !audit && g >= Generation::V3_2 {
        cols.push(def(c("TOKEN_BINDING_REF", Varchar(32)), "'NONE'"));
    }
    if !audit && g >= Generation::V4_2 {
        cols.push(c("CONSENTED_TOKEN", Varchar(6)));
    }
    cols
}

/// Every table `db init` creates for generation `g`, parents first.
pub fn tables(g: Generation) -> Vec<Table> {
    use Type::*;
    let v3 = g >= Generation::V3_2;
    let v4 = g >= Generation::V4_2;
    let cascade = |columns, parent, parent_columns| ForeignKey {
        columns,
        parent,
        parent_columns,
    };
    let mut con_app_key = vec![
        "CONSUMER_KEY_ID",
        "AUTHZ_USER",
        "TENANT_ID",
        "USER_DOMAIN",
        "USER_TYPE",
        "TOKEN_SCOPE_HASH",
        "TOKEN_STATE",
        "TOKEN_STATE_ID",
    ];
    if v3 {
        con_app_key.extend(["IDP_ID", "TOKEN_BINDING_REF"]);
    }
    let mut audit_columns = token_columns(g, true);
    if v4 {
        audit_columns.insert(0, nn(c("ID", AutoId)));
    }
    let mut code_columns = vec![
        c("CODE_ID", Varchar(255)),
        c("AUTHORIZATION_CODE", Varchar(2048)),
        c("CONSUMER_KEY_ID", Int),
        c("CALLBACK_URL", Varchar(if v3 { 2048 } else { 1024 })),
        c("SCOPE", Varchar(2048)),
        c("AUTHZ_USER", Varchar(100)),
        c("TENANT_ID", Int),
        c("USER_DOMAIN", Varchar(50)),
        c("TIME_CREATED", CreatedAt),
        c("VALIDITY_PERIOD", BigInt),
        def(c("STATE", Varchar(25)), "'ACTIVE'"),
        c("TOKEN_ID", Varchar(255)),
        c("SUBJECT_IDENTIFIER", Varchar(255)),
        c("PKCE_CODE_CHALLENGE", Varchar(255)),
        c("PKCE_CODE_CHALLENGE_METHOD", Varchar(128)),
        c("AUTHORIZATION_CODE_HASH", Varchar(512)),
    ];
    if v3 {
        code_columns.push(nn(def(c("IDP_ID", Int), "-1")));
    }
    let mut code_indexes = vec![
        idx(
            "IDX_AUTHORIZATION_CODE_HASH",
            &["AUTHORIZATION_CODE_HASH", "CONSUMER_KEY_ID"],
        ),
        idx(
            "IDX_AUTHORIZATION_CODE_AU_TI",
            &["AUTHZ_USER", "TENANT_ID", "USER_DOMAIN", "STATE"],
        ),
    ];
    if v3 {
        code_indexes.push(idx("IDX_AC_CKID", &["CONSUMER_KEY_ID"]));
        code_indexes.push(idx("IDX_AC_TID", &["TOKEN_ID"]));
    }
    let mut session_indexes = vec![idx("IDX_IDN_AUTH_SESSION_TIME", &["TIME_CREATED"])];
    if v4 {
        session_indexes.push(idx(
            "IDX_IDN_AUTH_SSTR_ST_OP_ID_TM",
            &["OPERATION", "SESSION_TYPE", "SESSION_ID", "TIME_CREATED"],
        ));
        session_indexes.push(idx(
            "IDX_IDN_AUTH_SSTR_ET_ID",
            &["EXPIRY_TIME", "SESSION_ID"],
        ));
    }
    let mut out = vec![
        Table {
            name: CONSUMER_APPS,
            columns: vec![
                nn(c("ID", AutoId)),
                c("CONSUMER_KEY", Varchar(255)),
                c("CONSUMER_SECRET", Varchar(2048)),
                c("USERNAME", Varchar(255)),
                def(c("TENANT_ID", Int), "0"),
                c("USER_DOMAIN", Varchar(50)),
                c("APP_NAME", Varchar(255)),
                c("OAUTH_VERSION", Varchar(128)),
                c("CALLBACK_URL", Varchar(2048)),
                c("GRANT_TYPES", Varchar(1024)),
                def(c("APP_STATE", Varchar(25)), "'ACTIVE'"),
            ],
            primary_key: vec!["ID"],
            foreign_keys: vec![],
            indexes: vec![Index {
                name: "CONSUMER_KEY_CONSTRAINT",
                columns: vec!["CONSUMER_KEY"],
                unique: true,
            }],
        },
        Table {
            name: TOKEN,
            columns: token_columns(g, false),
            primary_key: vec!["TOKEN_ID"],
            foreign_keys: vec![cascade("CONSUMER_KEY_ID", CONSUMER_APPS, "ID")],
            indexes: vec![
                Index {
                    name: "CON_APP_KEY",
                    columns: con_app_key,
                    unique: true,
                },
                idx("IDX_TC", &["TIME_CREATED"]),
                idx("IDX_ATH", &["ACCESS_TOKEN_HASH"]),
                idx(
                    "IDX_AT_TI_UD",
                    &["AUTHZ_USER", "TENANT_ID", "TOKEN_STATE", "USER_DOMAIN"],
                ),
                idx("IDX_AT_RTH", &["REFRESH_TOKEN_HASH"]),
                idx(
                    "IDX_AT_CKID_AU_TID_UD_TSH_TS",
                    &[
                        "CONSUMER_KEY_ID",
                        "AUTHZ_USER",
                        "TENANT_ID",
                        "USER_DOMAIN",
                        "TOKEN_SCOPE_HASH",
                        "TOKEN_STATE",
                    ],
                ),
            ],
        },
        Table {
            name: TOKEN_SCOPE,
            columns: vec![
                c("TOKEN_ID", Varchar(255)),
                c("TOKEN_SCOPE", Varchar(if v4 { 100 } else { 60 })),
                def(c("TENANT_ID", Int), "-1"),
            ],
            primary_key: vec!["TOKEN_ID", "TOKEN_SCOPE"],
            foreign_keys: vec![cascade("TOKEN_ID", TOKEN, "TOKEN_ID")],
            indexes: vec![idx("IDX_ATS_TID", &["TOKEN_ID"])],
        },
        Table {
            name: TOKEN_AUDIT,
            columns: audit_columns,
            primary_key: if v4 { vec!["ID"] } else { vec![] },
            foreign_keys: vec![],
            indexes: vec![],
        },
        Table {
            name: CODE,
            columns: code_columns,
            primary_key: vec!["CODE_ID"],
            foreign_keys: vec![cascade("CONSUMER_KEY_ID", CONSUMER_APPS, "ID")],
            indexes: code_indexes,
        },
        Table {
            name: CODE_SCOPE,
            columns: vec![
                c("CODE_ID", Varchar(255)),
                c("SCOPE", Varchar(60)),
                c("TENANT_ID", Int),
            ],
            primary_key: vec!["CODE_ID", "SCOPE"],
            foreign_keys: vec![cascade("CODE_ID", CODE, "CODE_ID")],
            indexes: vec![],
        },
        Table {
            name: SESSION,
            columns: vec![
                nn(c("SESSION_ID", Varchar(100))),
                nn(c("SESSION_TYPE", Varchar(100))),
                nn(c("OPERATION", Varchar(10))),
                c("SESSION_OBJECT", Blob),
                c("TIME_CREATED", BigInt),
                def(c("TENANT_ID", Int), "-1"),
                c("EXPIRY_TIME", BigInt),
            ],
            primary_key: vec!["SESSION_ID", "SESSION_TYPE", "TIME_CREATED", "OPERATION"],
            foreign_keys: vec![],
            indexes: session_indexes,
        },
    ];
    if v3 {
        let mut user_cols = vec![
            nn(c("USER_ID", Varchar(255))),
            nn(c("SESSION_ID", Varchar(255))),
        ];
        if v4 {
            user_cols.insert(0, nn(c("ID", AutoId)));
        }
        let mut fed_cols = vec![
            nn(c("IDP_SESSION_ID", Varchar(255))),
            nn(c("SESSION_ID", Varchar(255))),
            nn(c("IDP_NAME", Varchar(255))),
            c("AUTHENTICATOR_ID", Varchar(255)),
            c("PROTOCOL_TYPE", Varchar(255)),
            nn(c("TIME_CREATED", CreatedAt)),
        ];
        if v4 {
            fed_cols.insert(0, nn(c("ID", AutoId)));
            fed_cols.push(nn(def(c("TENANT_ID", Int), "0")));
        }
        out.extend([
            Table {
                name: SESSION_USER,
                columns: user_cols,
                primary_key: if v4 { vec!["ID"] } else { vec![] },
                foreign_keys: vec![],
                indexes: vec![
                    Index {
                        name: "USER_SESSION_MAPPING_UNIQUE",
                        columns: vec!["USER_ID", "SESSION_ID"],
                        unique: true,
                    },
                    idx("IDX_USER_ID", &["USER_ID"]),
                    idx("IDX_SESSION_ID", &["SESSION_ID"]),
                ],
            },
            Table {
                name: SESSION_APP,
                columns: vec![
                    nn(c("SESSION_ID", Varchar(100))),
                    nn(c("SUBJECT", Varchar(100))),
                    nn(c("APP_ID", Int)),
                    nn(c("INBOUND_AUTH_TYPE", Varchar(255))),
                ],
                primary_key: vec!["SESSION_ID", "SUBJECT", "APP_ID", "INBOUND_AUTH_TYPE"],
                foreign_keys: vec![],
                indexes: vec![idx(
                    "IDX_AUTH_SAI_UN_AID_SID",
                    &["APP_ID", "SUBJECT", "SESSION_ID"],
                )],
            },
            Table {
                name: SESSION_META,
                columns: vec![
                    nn(c("SESSION_ID", Varchar(100))),
                    nn(c("PROPERTY_TYPE", Varchar(100))),
                    nn(c("VALUE", Varchar(255))),
                ],
                primary_key: vec!["SESSION_ID", "PROPERTY_TYPE", "VALUE"],
                foreign_keys: vec![],
                indexes: vec![],
            },
            Table {
                name: SESSION_FED,
                columns: fed_cols,
                primary_key: if v4 {
                    vec!["ID"]
                } else {
                    vec!["IDP_SESSION_ID"]
                },
                foreign_keys: vec![],
                indexes: vec![idx("IDX_FEDERATED_AUTH_SESSION_ID", &["SESSION_ID"])],
            },
        ]);
    }
    out.push(Table {
        name: REG_LOG,
        columns: vec![
            nn(c("REG_LOG_ID", AutoId)),
            c("REG_PATH", Varchar(750)),
            nn(c("REG_USER_ID", Varchar(if v4 { 255 } else { 31 }))),
            nn(c("REG_LOGGED_TIME", CreatedAt)),
            nn(c("REG_ACTION", Int)),
            c("REG_ACTION_DATA", Varchar(500)),
            def(c("REG_TENANT_ID", Int), "0"),
        ],
        primary_key: vec!["REG_LOG_ID", "REG_TENANT_ID"],
        foreign_keys: vec![],
        indexes: vec![idx(
            "REG_LOG_IND_BY_REG_LOGTIME",
            &["REG_LOGGED_TIME", "REG_TENANT_ID"],
        )],
    });
    out
}

/// The runtime tables `db` reports on, cleans and restores (every table of the newest
/// generation but the consumer apps they belong to), parents before children.
pub fn runtime_tables() -> Vec<&'static str> {
    tables(Generation::V4_2)
        .into_iter()
        .map(|t| t.name)
        .filter(|n| *n != CONSUMER_APPS)
        .collect()
}

/// The `CREATE TABLE` for `t` on `e`, without its secondary indexes (see [`create_index`]).
pub fn create_table(e: Engine, t: &Table) -> String {
    let single_auto_pk = t.primary_key.len() == 1
        && t.column(t.primary_key[0])
            .is_some_and(|c| c.ty == Type::AutoId);
    let mut parts: Vec<String> = t
        .columns
        .iter()
        .map(|col| {
            let ty = match (col.ty, e) {
                (Type::Varchar(n), _) => format!("VARCHAR({n})"),
                (Type::Int, _) => "INTEGER".into(),
                (Type::BigInt, _) => "BIGINT".into(),
                (Type::CreatedAt, Engine::Postgres) => "TIMESTAMP".into(),
                (Type::CreatedAt, _) => "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP".into(),
                (Type::TimestampNull, Engine::Postgres) => "TIMESTAMP".into(),
                (Type::TimestampNull, _) => "TIMESTAMP NULL".into(),
                (Type::Blob, Engine::Postgres) => "BYTEA".into(),
                (Type::Blob, _) => "BLOB".into(),
                (Type::AutoId, Engine::Postgres) => "SERIAL".into(),
                (Type::AutoId, Engine::MySql) => "INTEGER NOT NULL AUTO_INCREMENT".into(),
                // A single-column INTEGER PRIMARY KEY is SQLite's rowid: it auto-increments.
                (Type::AutoId, Engine::Sqlite) if single_auto_pk => "INTEGER".into(),
                (Type::AutoId, Engine::Sqlite) => "INTEGER NOT NULL".into(),
            };
            let mut s = format!("{} {ty}", col.name);
            if let Some(d) = col.default {
                s.push_str(&format!(" DEFAULT {d}"));
            }
            let implied = matches!(col.ty, Type::AutoId | Type::CreatedAt);
            if col.not_null && !(implied && e != Engine::Postgres) {
                s.push_str(" NOT NULL");
            }
            s
        })
        .collect();
    if !t.primary_key.is_empty() {
        parts.push(format!("PRIMARY KEY ({})", t.primary_key.join(", ")));
    }
    for fk in &t.foreign_keys {
        parts.push(format!(
            "FOREIGN KEY ({}) REFERENCES {}({}) ON DELETE CASCADE",
            fk.columns, fk.parent, fk.parent_columns
        ));
    }
    let tail = if e == Engine::MySql {
        " ENGINE INNODB"
    } else {
        ""
    };
    format!(
        "CREATE TABLE {} (\n    {}\n){tail}",
        t.name,
        parts.join(",\n    ")
    )
}

pub fn create_index(t: &Table, i: &Index) -> String {
    format!(
        "CREATE {}INDEX {} ON {} ({})",
        if i.unique { "UNIQUE " } else { "" },
        i.name,
        t.name,
        i.columns.join(", ")
    )
}

pub fn drop_index(e: Engine, t: &Table, i: &Index) -> String {
    match e {
        Engine::MySql => format!("DROP INDEX {} ON {}", i.name, t.name),
        _ => format!("DROP INDEX {}", i.name),
    }
}

/// The full DDL script for `g` on `e`, as `db init` runs it (and `db init --print` shows it).
pub fn ddl(e: Engine, g: Generation) -> Vec<String> {
    let mut out = Vec::new();
    for t in tables(g) {
        out.push(create_table(e, &t));
        for i in &t.indexes {
            out.push(create_index(&t, i));
        }
    }
    out
}

/// A cleanup and the columns it reads: checked before anything is deleted.
pub struct Requirement {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    /// What to say about a table that lacks them.
    pub hint: &'static str,
}

pub const TOKEN_NEEDS: Requirement = Requirement {
    table: TOKEN,
    columns: &[
        "TOKEN_ID",
        "TOKEN_STATE",
        "TIME_CREATED",
        "VALIDITY_PERIOD",
        "REFRESH_TOKEN_TIME_CREATED",
        "REFRESH_TOKEN_VALIDITY_PERIOD",
    ],
    hint: "the API-M access token table",
};

pub const CODE_NEEDS: Requirement = Requirement {
    table: CODE,
    columns: &[
        "CODE_ID",
        "TOKEN_ID",
        "TIME_CREATED",
        "VALIDITY_PERIOD",
        "STATE",
    ],
    hint: "the API-M authorization code table",
};

pub const SESSION_NEEDS: Requirement = Requirement {
    table: SESSION,
    columns: &["SESSION_ID", "OPERATION", "TIME_CREATED", "EXPIRY_TIME"],
    hint: "EXPIRY_TIME exists from API-M 2.6.0; older session stores cannot be cleaned by expiry",
};

pub const REG_LOG_NEEDS: Requirement = Requirement {
    table: REG_LOG,
    columns: &["REG_LOG_ID", "REG_PATH", "REG_TENANT_ID", "REG_ACTION"],
    hint: "the registry log lives in the shared (registry) database: point --url at it",
};

pub const AUDIT_NEEDS: Requirement = Requirement {
    table: TOKEN_AUDIT,
    columns: &["ID", "TIME_CREATED", "INVALIDATED_TIME"],
    hint: "the audit table has an ID key from API-M 4.2.0; older ones have no key to delete by",
};

/// The generation a set of token-table columns looks like, or `None` for older than 2.6.
pub fn detect(token_columns: &[String]) -> Option<Generation> {
    let has = |c: &str| token_columns.iter().any(|x| x.eq_ignore_ascii_case(c));
    if has("CONSENTED_TOKEN") {
        Some(Generation::V4_2)
    } else if has("IDP_ID") {
        Some(Generation::V3_2)
    } else if has("ACCESS_TOKEN_HASH") {
        Some(Generation::V2_6)
    } else {
        None
    }
}

/// Secondary indexes the cleanup's queries need on big tables, with the reason. WSO2's own
/// scripts lack the REG_LOG one.
pub fn cleanup_indexes() -> Vec<(&'static str, Index, &'static str)> {
    vec![
        (
            CODE,
            idx("IDX_AC_TID", &["TOKEN_ID"]),
            "finding codes whose token is gone looks codes up by TOKEN_ID",
        ),
        (
            TOKEN_SCOPE,
            idx("IDX_ATS_TID", &["TOKEN_ID"]),
            "every deleted token deletes (or backs up) its scope rows by TOKEN_ID",
        ),
        (
            SESSION,
            idx("IDX_IDN_AUTH_SSTR_ET_ID", &["EXPIRY_TIME", "SESSION_ID"]),
            "expired sessions are found by EXPIRY_TIME",
        ),
        (
            REG_LOG,
            idx("IDX_REG_LOG_PATH_TENANT", &["REG_PATH", "REG_TENANT_ID"]),
            "superseded REG_LOG rows are found by comparing rows of the same path and tenant",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_differ_where_wso2s_scripts_do() {
        let cols = |g, t: &str| -> Vec<&str> {
            tables(g)
                .into_iter()
                .find(|x| x.name == t)
                .map(|x| x.columns.iter().map(|c| c.name).collect())
                .unwrap_or_default()
        };
        assert!(cols(Generation::V4_2, TOKEN).contains(&"CONSENTED_TOKEN"));
        assert!(!cols(Generation::V3_2, TOKEN).contains(&"CONSENTED_TOKEN"));
        assert!(cols(Generation::V3_2, TOKEN).contains(&"IDP_ID"));
        assert!(!cols(Generation::V2_6, TOKEN).contains(&"IDP_ID"));
        assert_eq!(cols(Generation::V4_2, TOKEN_AUDIT)[0], "ID");
        assert!(!cols(Generation::V3_2, TOKEN_AUDIT).contains(&"ID"));
        assert!(cols(Generation::V2_6, SESSION_USER).is_empty());
        for g in Generation::ALL {
            let names: Vec<String> = cols(g, TOKEN).iter().map(|s| s.to_string()).collect();
            assert_eq!(detect(&names), Some(g));
        }
    }

    #[test]
    fn ddl_shapes_per_engine() {
        let t = tables(Generation::V4_2);
        let token = t.iter().find(|x| x.name == TOKEN).expect("token table");
        let pg = create_table(Engine::Postgres, token);
        let my = create_table(Engine::MySql, token);
        assert!(pg.contains("TIME_CREATED TIMESTAMP,"), "{pg}");
        assert!(my.contains("TIME_CREATED TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"));
        assert!(my.ends_with("ENGINE INNODB"));
        assert!(my.contains("IDP_ID INTEGER DEFAULT -1 NOT NULL"));
        let apps = t.iter().find(|x| x.name == CONSUMER_APPS).expect("apps");
        assert!(create_table(Engine::Sqlite, apps).contains("ID INTEGER,"));
        assert!(create_table(Engine::MySql, apps).contains("ID INTEGER NOT NULL AUTO_INCREMENT,"));
        assert!(create_table(Engine::Postgres, apps).contains("ID SERIAL NOT NULL,"));
    }
}
