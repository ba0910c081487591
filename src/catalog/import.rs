//! Product import from CSV: every row is checked before anything is written, and then
//! all rows are written in one transaction, so a file is imported whole or not at all.
//!
//! The header is `sku,name,description,price,stock,category` (any order). A row whose
//! SKU exists updates that product; categories are created as needed.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use crate::catalog::fields::{self, Sku};
use crate::money::Money;

pub const COLUMNS: [&str; 6] = ["sku", "name", "description", "price", "stock", "category"];
/// Beyond this many problems, the report stops listing them.
const MAX_REPORTED: usize = 50;

/// One valid product row, with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRow {
    pub line: u64,
    pub sku: Sku,
    pub name: String,
    pub description: String,
    pub price: Money,
    pub stock: i64,
    /// Empty when the product has no category.
    pub category: String,
}

/// A problem with one line of the file (line 1 is the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Reads and checks the whole file. Either every row is valid, or every problem found
/// (up to a limit) is returned with its line number.
pub fn parse_csv(input: impl Read) -> Result<Vec<ProductRow>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let columns = read_header(&mut reader)?;

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        if errors.len() >= MAX_REPORTED {
            break;
        }
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                errors.push(csv_error(&err));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |name: &str| record.get(columns[name]).unwrap_or("");
        match parse_row(line, field) {
            Ok(row) => match seen.insert(row.sku.as_str().to_ascii_lowercase(), line) {
                Some(first) => errors.push(RowError {
                    line,
                    message: format!("duplicate SKU {} (first on line {first})", row.sku.as_str()),
                }),
                None => rows.push(row),
            },
            Err(message) => errors.push(RowError { line, message }),
        }
    }

    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn read_header<R: Read>(
    reader: &mut csv::Reader<R>,
) -> Result<HashMap<&'static str, usize>, Vec<RowError>> {
    let header = reader
        .headers()
        .map_err(|err| vec![csv_error(&err)])?
        .clone();
    let header_error = |message: String| vec![RowError { line: 1, message }];

    let mut columns = HashMap::new();
    for (index, name) in header.iter().enumerate() {
        let name = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        let Some(known) = COLUMNS.iter().find(|c| **c == name) else {
            return Err(header_error(format!("unknown column `{name}`")));
        };
        if columns.insert(*known, index).is_some() {
            return Err(header_error(format!("column `{name}` appears twice")));
        }
    }
    let missing: Vec<&str> = COLUMNS
        .iter()
        .filter(|c| !columns.contains_key(*c))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(header_error(format!(
            "missing column(s) {}; the header must be {}",
            missing.join(", "),
            COLUMNS.join(",")
        )));
    }
    Ok(columns)
}

fn parse_row<'a>(line: u64, field: impl Fn(&str) -> &'a str) -> Result<ProductRow, String> {
    Ok(ProductRow {
        line,
        sku: Sku::parse(field("sku"))?,
        name: fields::parse_name(field("name"))?,
        description: fields::parse_text(field("description"), "description", 5000, false)?,
        price: fields::parse_price(field("price"))?,
        stock: fields::parse_stock(field("stock"))?,
        category: fields::parse_text(field("category"), "category", 80, false)?,
    })
}

fn csv_error(err: &csv::Error) -> RowError {
    let line = err.position().map_or(0, |p| p.line());
    let message = match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields, found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "the text is not valid UTF-8".to_owned(),
        _ => "the line is not valid CSV".to_owned(),
    };
    RowError { line, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "sku,name,description,price,stock,category\n";

    fn parse(body: &str) -> Result<Vec<ProductRow>, Vec<RowError>> {
        parse_csv(format!("{HEADER}{body}").as_bytes())
    }

    fn lines(errors: Vec<RowError>) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn valid_rows_parse_with_their_line_numbers() {
        let rows = parse("A-1,Oak Board,\"Solid, oiled\",19.99,4,Kitchen\nA-2,Mug,,5,0,\n")
            .expect("valid file");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].line, rows[0].price, rows[0].stock),
            (2, Money::from_minor(1999), 4)
        );
        assert_eq!(rows[0].description, "Solid, oiled");
        assert_eq!((rows[1].line, rows[1].category.as_str()), (3, ""));
    }

    #[test]
    fn columns_may_come_in_any_order() {
        let rows =
            parse_csv("price,sku,stock,name,category,description\n2.50,B-1,3,Cup,,\n".as_bytes())
                .expect("valid file");
        assert_eq!(rows[0].sku.as_str(), "B-1");
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let errors = parse(
            "A-1,Board,,19.99,4,K\nA-2,,,1.00,1,K\nA-3,Cup,,1.999,1,K\nA-4,Jar,,2.00,-5,K\nA-5,Tin,,2.00\nA-1,Again,,1.00,1,K\n",
        )
        .expect_err("bad file");
        assert_eq!(
            lines(errors),
            vec![
                "line 3: the name is missing",
                "line 4: price: use at most two digits after the decimal point",
                "line 5: the stock cannot be negative",
                "line 6: expected 6 fields, found 4",
                "line 7: duplicate SKU A-1 (first on line 2)",
            ]
        );
    }

    #[test]
    fn a_wrong_header_is_refused_on_line_one() {
        let errors = parse_csv("sku,name,price\nA,B,1\n".as_bytes()).expect_err("bad header");
        assert_eq!(errors[0].line, 1);
        assert!(
            errors[0].message.contains("description, stock, category"),
            "{}",
            errors[0]
        );

        let errors = parse_csv("sku,name,description,price,stock,category,cost\n".as_bytes())
            .expect_err("unknown column");
        assert_eq!(lines(errors), vec!["line 1: unknown column `cost`"]);
    }

    #[test]
    fn a_header_with_a_byte_order_mark_is_accepted() {
        let rows = parse_csv(format!("\u{feff}{HEADER}A,B,,1.00,1,\n").as_bytes()).expect("valid");
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn an_empty_file_after_the_header_has_no_rows() {
        assert_eq!(parse(""), Ok(vec![]));
    }
}
