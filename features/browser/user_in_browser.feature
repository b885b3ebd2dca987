@browser
Feature: A user works with the to-do page in a browser
  As a user of the to-do service
  I want the page in my browser to work
  So that I can keep my list without any tools

  Background:
    Given the to-do app is deployed on the suite's cluster
    And a new user Alice with an empty list
    And Alice has the to-do page open in her browser

  @needs_completed_flag
  Scenario: Alice adds and completes a to-do in the browser
    When Alice adds "Book the dentist" on the page
    And Alice ticks "Book the dentist" as done on the page
    Then the page shows "Book the dentist" as done
    And Alice's list shows "Book the dentist" as done

  Scenario: Alice still sees her to-do after a back-end replica is lost
    Given Alice has added "Renew passport" on the page
    When one back-end replica is lost
    And Alice reloads the page
    Then the page shows "Renew passport" within 30 seconds
