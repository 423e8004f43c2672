//! The shopper's personal data on a checkout (the merchant's prefill hints and the shipping
//! address), stored encrypted column by column; the address's country stays clear.

use entity::checkout;
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::{
    domain::checkout::{Address, ShopperData, ShopperHints},
    encryption::{DecryptError, Vault, column_context},
};

fn context(column: &str, id: Uuid) -> String {
    column_context("checkouts", column, id)
}

/// Writes `data` into the encrypted columns of `row`.
pub fn seal(vault: &Vault, row: &mut checkout::Model, data: &ShopperData) {
    let id = row.id;
    let seal = |value: Option<&String>, column: &str| {
        value.map(|v| vault.encrypt(v, &context(column, id)))
    };
    let hints = &data.shopper;
    row.shopper_email = seal(hints.email.as_ref(), "shopper_email");
    row.shopper_given_name = seal(hints.given_name.as_ref(), "shopper_given_name");
    row.shopper_family_name = seal(hints.family_name.as_ref(), "shopper_family_name");
    row.shopper_phone = seal(hints.phone.as_ref(), "shopper_phone");
    let address = data.shipping_address.as_ref();
    row.shipping_name = seal(address.and_then(|a| a.name.as_ref()), "shipping_name");
    row.shipping_line1 = seal(address.map(|a| &a.line1), "shipping_line1");
    row.shipping_line2 = seal(address.and_then(|a| a.line2.as_ref()), "shipping_line2");
    row.shipping_city = seal(address.map(|a| &a.city), "shipping_city");
    row.shipping_postal_code = seal(
        address.and_then(|a| a.postal_code.as_ref()),
        "shipping_postal_code",
    );
    row.shipping_region = seal(address.and_then(|a| a.region.as_ref()), "shipping_region");
    row.shipping_country_code = address.map(|a| a.country_code.clone());
}

/// Decrypts the shopper's data of `row`; a failure means a key is missing or the row was
/// altered.
pub fn open(vault: &Vault, row: &checkout::Model) -> ServiceResult<ShopperData> {
    let fail = |err: DecryptError| {
        ServiceError::Internal(anyhow::Error::new(err).context(format!("checkout {}", row.id)))
    };
    let open = |value: &Option<String>, column: &str| {
        value
            .as_ref()
            .map(|v| vault.decrypt(v, &context(column, row.id)))
            .transpose()
            .map_err(fail)
    };
    let shopper = ShopperHints {
        email: open(&row.shopper_email, "shopper_email")?,
        given_name: open(&row.shopper_given_name, "shopper_given_name")?,
        family_name: open(&row.shopper_family_name, "shopper_family_name")?,
        phone: open(&row.shopper_phone, "shopper_phone")?,
    };
    let line1 = open(&row.shipping_line1, "shipping_line1")?;
    let city = open(&row.shipping_city, "shipping_city")?;
    let shipping_address = match (line1, city, &row.shipping_country_code) {
        (Some(line1), Some(city), Some(country_code)) => Some(Address {
            name: open(&row.shipping_name, "shipping_name")?,
            line1,
            line2: open(&row.shipping_line2, "shipping_line2")?,
            city,
            postal_code: open(&row.shipping_postal_code, "shipping_postal_code")?,
            region: open(&row.shipping_region, "shipping_region")?,
            country_code: country_code.clone(),
        }),
        _ => None,
    };
    Ok(ShopperData {
        shopper,
        shipping_address,
    })
}

/// The encrypted columns, for key rotation.
pub const ENCRYPTED_COLUMNS: [checkout::Column; 10] = [
    checkout::Column::ShopperEmail,
    checkout::Column::ShopperGivenName,
    checkout::Column::ShopperFamilyName,
    checkout::Column::ShopperPhone,
    checkout::Column::ShippingName,
    checkout::Column::ShippingLine1,
    checkout::Column::ShippingLine2,
    checkout::Column::ShippingCity,
    checkout::Column::ShippingPostalCode,
    checkout::Column::ShippingRegion,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_on_its_own_row() {
        let vault = Vault::development().unwrap();
        let data = ShopperData {
            shopper: ShopperHints {
                email: Some("ada@example.com".into()),
                given_name: Some("Ada".into()),
                family_name: None,
                phone: Some("+393331234567".into()),
            },
            shipping_address: Some(Address {
                name: None,
                line1: "Via Roma 1".into(),
                line2: None,
                city: "Milano".into(),
                postal_code: Some("20121".into()),
                region: None,
                country_code: "IT".into(),
            }),
        };
        let mut row = blank_row();
        seal(&vault, &mut row, &data);
        assert!(row.shopper_email.as_deref().unwrap().starts_with("v1."));
        assert_eq!(row.shopper_family_name, None);
        assert_eq!(open(&vault, &row).unwrap(), data);
        let mut other = row.clone();
        other.id = Uuid::now_v7();
        assert!(
            open(&vault, &other).is_err(),
            "a value copied to another row does not open"
        );
        seal(&vault, &mut row, &ShopperData::default());
        assert_eq!(open(&vault, &row).unwrap(), ShopperData::default());
    }

    fn blank_row() -> checkout::Model {
        use sea_orm::prelude::ChronoUnixTimestampMillis;
        let at = ChronoUnixTimestampMillis(chrono::Utc::now());
        checkout::Model {
            id: Uuid::now_v7(),
            merchant_id: Uuid::now_v7(),
            token_hash: String::new(),
            status: crate::domain::checkout::CheckoutStatus::Open,
            currency: crate::domain::Currency::Eur,
            shipping_minor: 0,
            tax_minor: 0,
            discount_minor: 0,
            total_minor: 1,
            merchant_reference: "r".into(),
            open_reference: None,
            shopper_email: None,
            shopper_given_name: None,
            shopper_family_name: None,
            shopper_phone: None,
            shipping_name: None,
            shipping_line1: None,
            shipping_line2: None,
            shipping_city: None,
            shipping_postal_code: None,
            shipping_region: None,
            shipping_country_code: None,
            confirm_url: String::new(),
            cancel_url: String::new(),
            cancellation_reason: None,
            expires_at: at,
            created_at: at,
            updated_at: at,
            cancelled_at: None,
            completed_at: None,
        }
    }
}
