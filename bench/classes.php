<?php
// Classes that appear in the benchmark payloads. Both bench/payloads.php (which writes the payloads)
// and bench/php_format.php (which times PHP on them) include this file, so PHP's unserialize() finds
// real classes, as it would in the application, instead of building __PHP_Incomplete_Class objects.

declare(strict_types=1);

namespace App\Cart;

final class Money
{
    public function __construct(
        private int $amount,
        private string $currency,
    ) {
    }
}

final class CartItem
{
    public int $quantity = 1;
    protected ?Money $unitPrice = null;
    private array $options = [];

    public function __construct(
        public int $productId,
        public string $sku,
        public string $name,
        int $quantity,
        Money $unitPrice,
        array $options,
    ) {
        $this->quantity = $quantity;
        $this->unitPrice = $unitPrice;
        $this->options = $options;
    }
}
